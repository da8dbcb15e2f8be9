"""How an operator's clause catalogue maps its promises onto the reference pack's.

The code's column declarations cite the reference pack's clause ids (the
promises Doorstep was written and tested to keep: ``clauses=["CPE-I.ii.1.c"]``).
An operator's pack has its own catalogue with its own ids (``EX-3.4.b``) and
says, per clause, which reference promises keep it::

    - id: EX-3.4.b
      quote: ...one year after it was last online.
      maps_to: [CPE-I.ii.1.c]

:func:`mapped_clause_ids` collects those ids, so the data map's declarations
stay valid under the operator's pack, and the evidence of a reference promise
can be shown for the operator's promise it keeps.  The reference pack itself
maps nothing.
"""

from __future__ import annotations

from pathlib import Path

import yaml

from doorstep.core.errors import ConfigurationError

CLAUSES_FILE = "clauses.yaml"


def _clauses(path: Path) -> list[dict[str, object]]:
    source = path / CLAUSES_FILE
    if not source.exists():
        return []
    raw = yaml.safe_load(source.read_text(encoding="utf-8")) or {}
    items = raw.get("clauses") if isinstance(raw, dict) else None
    return [item for item in items or () if isinstance(item, dict)]


def mapped_clause_ids(path: Path, reference: Path) -> frozenset[str]:
    """The reference clause ids that ``path/clauses.yaml`` names in ``maps_to``.

    Empty when ``path`` is the ``reference`` pack or has no catalogue.  Raises
    :class:`ConfigurationError` naming the clause when ``maps_to`` is not a list
    of strings or names an id that is no clause of the reference pack.
    """
    if path.resolve() == reference.resolve():
        return frozenset()
    known = {str(item.get("id")) for item in _clauses(reference)}
    found: set[str] = set()
    for item in _clauses(path):
        clause = str(item.get("id"))
        refs = item.get("maps_to") or []
        if not isinstance(refs, list) or not all(isinstance(ref, str) for ref in refs):
            raise ConfigurationError(
                f"policy pack: {CLAUSES_FILE}: clause {clause!r} maps_to must be a list of strings"
            )
        for ref in refs:
            if ref not in known:
                raise ConfigurationError(
                    f"policy pack: {CLAUSES_FILE}: clause {clause!r} maps to {ref!r}, "
                    "which is no clause of the reference pack"
                )
        found.update(refs)
    return frozenset(found)
