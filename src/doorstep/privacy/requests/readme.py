"""The README of an export: what each field is, why we hold it, who gets it, for how long.

Each table's section also says what the export shows of each element — its
value, a sentence in its place (and why), or nothing (and why) — and lists the
context fields (ids, times, actions) that are not personal data themselves.

A table's section depends only on the schema, the pack and the language, so it
is written once per (schema, pack, language) and reused by every export; only the
list of tables with rows changes from one subject to the next.

Language: the README's own words are message ids (:mod:`doorstep.locale`),
written in the ``language`` asked for (English by default).  What the data map
and the pack say about an element (its description, a purpose, a retention
rule, the reason something is left out) is quoted as declared.
"""

from __future__ import annotations

from collections.abc import Callable

import sqlalchemy as sa

from doorstep.core.memo import by_identity
from doorstep.locale import SOURCE, _, gettext_for
from doorstep.privacy.datamap.pack import PolicyPack
from doorstep.privacy.requests.export_fields import fields, omitted_columns
from doorstep.vocabulary.declarations import NotPersonal, PersonalData
from doorstep.vocabulary.export_decisions import ExportAs, ExportDecision

_TITLE = _("Your data")
_HEAD = _(
    "`data.json` holds every item of personal data we keep about you, by table; "
    "`csv/` holds the same, one file per table; `schema.json` describes `data.json`.\n\n"
    "Passwords, tokens, one-time codes and their hashes are never included: where one is "
    'set, a sentence says so ("A password is set, last changed on 2025-03-01."). Rows also '
    "carry the ids and times that tie them together (an event's time and action, a request's "
    "reference, a device's id); those are marked *context*."
)

_SHOWN = {
    ExportAs.VALUE: _("the value"),
    ExportAs.DESCRIPTION: _("a sentence saying whether it is set, never the value"),
}
_NOT_INCLUDED = _("not included")
#: The labels of an element's lines (f-strings hide a ``_()`` from extraction).
_IN_EXPORT = _("in this export")
_CATEGORY = _("category")
_PURPOSES = _("purposes")
_LEGAL_BASIS = _("legal basis")
_RECIPIENTS = _("recipients")
_RETENTION = _("retention")
_NOBODY = _("nobody outside the operator")
_CONTEXT = _("context (not personal data)")
_LEFT_OUT = _("Not included")


def _purposes(pack: PolicyPack, keys: tuple[str, ...]) -> str:
    return "; ".join(
        f"{key} ({pack.purposes[key].description})" if key in pack.purposes else key for key in keys
    )


def _retention(pack: PolicyPack, key: str) -> str:
    rule = pack.retention.get(key)
    return " ".join(rule.description.split()) if rule else key


def _shown(decision: ExportDecision, t: Callable[[str], str]) -> str:
    text = t(_SHOWN.get(decision.how, _NOT_INCLUDED))
    return f"{text} ({decision.reason})" if decision.reason else text


def _element(
    name: str, declaration: PersonalData, pack: PolicyPack, t: Callable[[str], str]
) -> list[str]:
    recipients = ", ".join(declaration.recipients) or t(_NOBODY)
    return [
        f"- **{name}** — {declaration.description or declaration.category}",
        f"  - {t(_IN_EXPORT)}: {_shown(declaration.export, t)}",
        f"  - {t(_CATEGORY)}: {declaration.category}",
        f"  - {t(_PURPOSES)}: {_purposes(pack, declaration.purposes)}",
        f"  - {t(_LEGAL_BASIS)}: {declaration.legal_basis.value}",
        f"  - {t(_RECIPIENTS)}: {recipients}",
        f"  - {t(_RETENTION)}: {_retention(pack, declaration.retention)}",
    ]


@by_identity
def section(metadata: sa.MetaData, pack: PolicyPack, name: str, language: str = SOURCE) -> str:
    """The README section of table ``name`` in ``language`` (cached per schema, pack, language)."""
    t = gettext_for(language).gettext
    table = metadata.tables[name]
    lines = [f"## {name}", ""]
    for field in fields(table):
        declaration = field.declaration
        if isinstance(declaration, PersonalData):
            lines += _element(field.name, declaration, pack, t)
        elif isinstance(declaration, NotPersonal):
            lines.append(f"- **{field.name}** — {t(_CONTEXT)}: {declaration.reason}")
    for column, declaration in omitted_columns(table):
        lines += _element(column, declaration, pack, t)
    return "\n".join(lines) + "\n"


def readme(
    metadata: sa.MetaData,
    pack: PolicyPack,
    tables: list[str],
    left_out: dict[str, str],
    language: str = SOURCE,
) -> str:
    """Markdown naming every exported field with its purpose, basis, recipients and retention,
    in ``language`` (English, or any language with a catalogue)."""
    t = gettext_for(language).gettext
    head = f"# {t(_TITLE)}\n\n{t(_HEAD)}\n"
    parts = [head, *(section(metadata, pack, name, language) for name in tables)]
    if left_out:
        parts.append(
            f"## {t(_LEFT_OUT)}\n\n"
            + "\n".join(f"- **{name}**: {reason}" for name, reason in sorted(left_out.items()))
            + "\n"
        )
    return "\n".join(parts)
