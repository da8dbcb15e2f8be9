"""The export README's section on the connected systems: each system's part, marked by system.

An access export of a request that reached connected systems holds, beside
Doorstep's own tables, ``systems/<system>.json`` per system and
``data.json``'s ``systems`` object; this section says which systems were asked,
what each answered (its data, nothing found, or kept under a recorded
exception), and for each element its purposes, legal basis and retention, as the
pack's ``systems.yaml`` declares them.
"""

from __future__ import annotations

from typing import Any

from doorstep.locale import SOURCE, _, gettext_for
from doorstep.privacy.datamap.pack import PolicyPack

_TITLE = _("Your data in our other systems")
_HEAD = _(
    "We also asked each of our other systems that may hold data about you. Each system's "
    "part is in `systems/<system>.json` and under `systems` in `data.json`, marked by system."
)
_STATE = {
    "done": _("its data is included"),
    "not_found": _("it holds nothing about you"),
    "excepted": _("not included: kept for a legal reason"),
}
_OTHER = _("not answered yet")
_PURPOSES = _("purposes")
_LEGAL_BASIS = _("legal basis")
_RETENTION = _("retention")


def systems_section(
    pack: PolicyPack, parts: dict[str, dict[str, Any]], language: str = SOURCE
) -> str:
    """Markdown for ``parts`` (system key -> name, state, exception, data) in ``language``."""
    t = gettext_for(language).gettext
    lines = [f"## {t(_TITLE)}", "", t(_HEAD), ""]
    for key, part in sorted(parts.items()):
        state = _STATE.get(str(part.get("state")), _OTHER)
        why = f" ({part['exception']})" if part.get("exception") else ""
        lines.append(f"### {part.get('name') or key} (`{key}`): {t(state)}{why}")
        lines.append("")
        system = pack.systems.systems.get(key)
        if system is None:
            continue
        for element in system.elements.values():
            lines.append(
                f"- **{element.key}** — {element.description or element.field}; "
                f"{t(_PURPOSES)}: {', '.join(element.purposes)}; "
                f"{t(_LEGAL_BASIS)}: {element.legal_basis.value}; "
                f"{t(_RETENTION)}: {element.retention}"
            )
        lines.append("")
    return "\n".join(lines)
