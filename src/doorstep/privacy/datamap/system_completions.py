"""A connected system's ``completions:`` in ``systems.yaml``, and where their events come from.

Each entry names a kind of record whose completion schedules its deletion
(CORP-5.4, CORP-5.5)::

    completions:
      order:
        identifier: order_number          # what the record's id is (sql/http: required)
        retention: order_record           # the rule whose period runs from the event
        source:                           # optional, sql systems only: events by themselves
          table: orders                   # a table the system maps
          key: order_number               # its key column of the identifier above
          at: after_sales_until           # a date or timestamp column: set and <= today
          subject: account_ref            # optional: its key column of account_id

:func:`completions_of` checks every entry against the system's identifiers, its
tables and the pack's retention rules and raises :class:`ConfigurationError`
naming ``systems.yaml:LINE``.  A source reads the key, ``at`` and subject
columns only, so the table must be one the system maps and the key its declared
key column: nothing of the system's schema beyond its declaration is read.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from doorstep.privacy.datamap.pack_lines import at
from doorstep.privacy.datamap.pack_lines import entry as _entry
from doorstep.privacy.datamap.pack_lines import text as _text
from doorstep.privacy.datamap.system_entries import (
    _NAME,
    SYSTEMS_FILE,
    Completion,
    CompletionSource,
    Identifier,
    SqlTable,
    SystemKind,
    _fail,
)


def _source(
    where: str,
    item: dict[str, Any],
    kind: SystemKind,
    ident: Identifier | None,
    tables: tuple[SqlTable, ...],
) -> CompletionSource | None:
    """The ``source:`` of one completion (None when absent); refused unless it fits."""
    if item.get("source") is None:
        return None
    with at(SYSTEMS_FILE, item, "source"):
        raw = _entry(item.get("source"), f"{where}.source")
        if kind is not SystemKind.SQL:
            raise _fail(f"{where}: only an sql system's completions may declare a source")
        names = {
            name: _text(raw.get(name), f"{where}.source.{name}")
            for name in ("table", "key", "at", "subject")
        }
        unknown = sorted(set(raw) - set(names))
        if unknown:
            raise _fail(f"{where}.source has unknown key(s) {', '.join(map(str, unknown))}")
        missing = [name for name in ("table", "key", "at") if not names[name]]
        if missing:
            raise _fail(f"{where}.source lacks {', '.join(missing)}")
        table = next((found for found in tables if found.name == names["table"]), None)
        if table is None:
            raise _fail(f"{where}.source reads table {names['table']!r}, not one the system maps")
        if ident is None or table.keys.get(ident) != names["key"]:
            raise _fail(
                f"{where}.source key {names['key']!r} is not the key column of the "
                f"completion's identifier in table {table.name!r}"
            )
        if not _NAME.match(names["at"]):
            raise _fail(f"{where}.source at {names['at']!r} is not a column name")
        subject = names["subject"] or None
        if subject is not None and table.keys.get(Identifier.ACCOUNT_ID) != subject:
            raise _fail(
                f"{where}.source subject {subject!r} is not the key column of account_id "
                f"in table {table.name!r}"
            )
        return CompletionSource(table.name, names["key"], names["at"], subject)


def completions_of(
    key: str,
    spec: dict[str, Any],
    kind: SystemKind,
    identifiers: tuple[Identifier, ...],
    retention: Mapping[str, object],
    *,
    tables: tuple[SqlTable, ...] = (),
) -> dict[str, Completion]:
    """``completions: {kind: {identifier, retention, description, source}}`` of one system."""
    found: dict[str, Completion] = {}
    section = _entry(spec.get("completions"), f"system {key!r} completions")
    for record, value in section.items():
        where = f"system {key!r} completion {record!r}"
        with at(SYSTEMS_FILE, section, record):
            if not _NAME.match(str(record)):
                raise _fail(f"{where}: a record kind is lower-case letters, digits and '_'")
            item = _entry(value, where)
            named = _text(item.get("identifier"), f"{where}.identifier")
            ident: Identifier | None = None
            if named:
                try:
                    ident = Identifier(named)
                except ValueError:
                    raise _fail(f"{where} names unknown identifier {named!r}") from None
                if ident not in identifiers:
                    raise _fail(f"{where} is found by {named!r}, not an identifier of the system")
            elif kind is not SystemKind.MANUAL:
                raise _fail(f"{where} names no identifier its record is found by")
            rule = _text(item.get("retention"), f"{where}.retention")
            if rule not in retention:
                raise _fail(f"{where} names unknown retention rule {rule!r}")
            found[str(record)] = Completion(
                str(record),
                ident,
                rule,
                _text(item.get("description"), f"{where}.description"),
                _source(where, item, kind, ident, tables),
            )
    return found
