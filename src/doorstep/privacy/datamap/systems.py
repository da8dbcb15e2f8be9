"""Connected systems: the operator's other systems that hold personal data (``systems.yaml``).

A pack may hold a ``systems.yaml`` beside its ``datamap.yaml``.  It declares

* ``systems:`` — each external system (a shop database, a ticketing tool, a
  mailing service): its ``kind`` (``sql``, ``http`` or ``manual``), the
  ``identifiers`` a subject is found by in it (``email``, ``phone``,
  ``account_id``, ``order_number``), the declared ``url`` a connector may reach
  (no request goes anywhere else; credentials are stored apart, encrypted), and
  every data element it holds with its category, purposes, legal basis and
  retention rule — the same vocabulary as a column of Doorstep's own schema, so
  the record of processing, the evidence report and the export's README cover
  them.  An ``sql`` system maps ``tables:`` (each with the key column of every
  identifier, ``erase: delete`` or ``erase: anonymise``, and its ``columns:``) to
  elements named ``table.column``; ``http`` and ``manual`` systems list
  ``elements:``.  A system holding data bought or taken from public sources
  says so in ``source:`` (origin, lawful basis, acquisition date: CORP-1.17);
  one the subject must opt into says ``opt_in: true`` (CORP-1.18).  A system's
  ``completions:`` name the kinds of record (an order, a ticket, an application,
  a shop account) whose completion schedules their deletion under a retention
  rule (CORP-5.4, CORP-5.5), the identifier the record is found by and, for an
  ``sql`` system, the ``source:`` its events come from by themselves
  (:mod:`.system_completions`).
* ``activities:`` — the processing activities whose fields the policy lists
  (CORP-1.13 order data, CORP-1.14 after-sales tickets, CORP-1.16 access logs):
  a purpose key with the exact ``fields`` an element of that purpose may be,
  and the user's ``choice`` they are asked on only, if any (CORP-1.15: the
  address only when the after-sales mailing service is chosen).

:func:`read_systems` parses and validates the file against the pack's purposes
and retention rules; every problem is a :class:`ConfigurationError` naming
``systems.yaml:LINE``.  Derived flags: an element is *sensitive* when its
category is one of the policy's sensitive categories (CORP-1.20,
:data:`SENSITIVE_CATEGORIES`); payment data (``user.financial*``) must be
declared ``tokenised: true`` and rest on consent or a recorded legal basis
(CORP-1.21).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from doorstep.privacy.datamap.pack_lines import at, load_yaml
from doorstep.privacy.datamap.pack_lines import entry as _entry
from doorstep.privacy.datamap.pack_lines import strings as _strings
from doorstep.privacy.datamap.pack_lines import text as _text
from doorstep.privacy.datamap.system_completions import completions_of
from doorstep.privacy.datamap.system_entries import (
    _NAME,
    _PAYMENT_BASES,
    PAYMENT_CATEGORIES,
    SENSITIVE_CATEGORIES,
    SYSTEMS_FILE,
    Completion,
    CompletionSource,
    ConnectedSystem,
    EraseMode,
    Identifier,
    Source,
    SqlTable,
    SystemActivity,
    SystemElement,
    SystemKind,
    SystemsMap,
    _fail,
    _limits,
    _url,
    is_payment,
    is_sensitive,
)
from doorstep.privacy.datamap.taxonomy import data_categories, data_subjects
from doorstep.vocabulary.declarations import LegalBasis

__all__ = [
    "PAYMENT_CATEGORIES",
    "SENSITIVE_CATEGORIES",
    "SYSTEMS_FILE",
    "Completion",
    "CompletionSource",
    "ConnectedSystem",
    "EraseMode",
    "Identifier",
    "Source",
    "SqlTable",
    "SystemActivity",
    "SystemElement",
    "SystemKind",
    "SystemsMap",
    "is_payment",
    "is_sensitive",
    "read_systems",
]


def _element(
    key: str,
    spec: Any,
    where: str,
    purposes: Mapping[str, object],
    retention: Mapping[str, object],
) -> SystemElement:
    spec = _entry(spec, where)
    with at(SYSTEMS_FILE, spec, "category"):
        category = _text(spec.get("category"), f"{where}.category")
        if category not in data_categories():
            raise _fail(f"{where} has unknown data category {category!r}")
    with at(SYSTEMS_FILE, spec, "subject"):
        subject = _text(spec.get("subject"), f"{where}.subject") or "customer"
        if subject not in data_subjects():
            raise _fail(f"{where} names unknown data subject {subject!r}")
    with at(SYSTEMS_FILE, spec, "purposes"):
        uses = _strings(spec.get("purposes"), f"{where}.purposes")
        if not uses:
            raise _fail(f"{where} names no purpose")
        for purpose in uses:
            if purpose not in purposes:
                raise _fail(f"{where} names unknown purpose {purpose!r}")
    with at(SYSTEMS_FILE, spec, "legal_basis"):
        try:
            basis = LegalBasis(str(spec.get("legal_basis")))
        except ValueError:
            raise _fail(f"{where} has unknown legal_basis {spec.get('legal_basis')!r}") from None
    with at(SYSTEMS_FILE, spec, "retention"):
        rule = _text(spec.get("retention"), f"{where}.retention")
        if rule not in retention:
            raise _fail(f"{where} names unknown retention rule {rule!r}")
    tokenised = spec.get("tokenised", False) is True
    if is_payment(category):
        with at(SYSTEMS_FILE, spec, "category"):
            if not tokenised:
                raise _fail(f"{where} is payment data and must be declared 'tokenised: true'")
            if basis not in _PAYMENT_BASES:
                raise _fail(
                    f"{where} is payment data: its legal basis must be consent, contract "
                    "or legal_obligation"
                )
    return SystemElement(
        key=key,
        field=_text(spec.get("field"), f"{where}.field") or key.rsplit(".", 1)[-1],
        category=category,
        subject=subject,
        purposes=uses,
        legal_basis=basis,
        retention=rule,
        clauses=_strings(spec.get("clauses"), f"{where}.clauses"),
        description=_text(spec.get("description"), f"{where}.description"),
        tokenised=tokenised,
    )


def _identifiers(values: tuple[str, ...], where: str) -> tuple[Identifier, ...]:
    found = []
    for value in values:
        try:
            found.append(Identifier(value))
        except ValueError:
            raise _fail(f"{where} names unknown identifier {value!r}") from None
    return tuple(found)


def _tables(
    system: str,
    spec: dict[str, Any],
    identifiers: tuple[Identifier, ...],
    purposes: Mapping[str, object],
    retention: Mapping[str, object],
) -> tuple[tuple[SqlTable, ...], dict[str, SystemElement]]:
    tables: list[SqlTable] = []
    elements: dict[str, SystemElement] = {}
    section = _entry(spec.get("tables"), f"system {system!r} tables")
    if not section:
        with at(SYSTEMS_FILE, spec, "kind"):
            raise _fail(f"sql system {system!r} maps no tables")
    for name, value in section.items():
        where = f"system {system!r} table {name!r}"
        with at(SYSTEMS_FILE, section, name):
            if not _NAME.match(str(name)):
                raise _fail(f"{where}: a table name is lower-case letters, digits and '_'")
            table = _entry(value, where)
            with at(SYSTEMS_FILE, table, "keys"):
                raw_keys = _entry(table.get("keys"), f"{where}.keys")
                keys = {}
                for ident, column in raw_keys.items():
                    (kind,) = _identifiers((str(ident),), f"{where}.keys")
                    if kind not in identifiers:
                        raise _fail(f"{where} keys {kind.value!r}, not an identifier of the system")
                    if not _NAME.match(str(column)):
                        raise _fail(f"{where} key column {column!r} is not a column name")
                    keys[kind] = str(column)
                if not keys:
                    raise _fail(f"{where} has no key column for any identifier")
            with at(SYSTEMS_FILE, table, "erase"):
                try:
                    erase = EraseMode(str(table.get("erase", "delete")))
                except ValueError:
                    raise _fail(f"{where} has unknown erase mode {table.get('erase')!r}") from None
            columns = _entry(table.get("columns"), f"{where}.columns")
            for column, declared in columns.items():
                with at(SYSTEMS_FILE, columns, column):
                    if not _NAME.match(str(column)):
                        raise _fail(f"{where} column {column!r} is not a column name")
                    key = f"{name}.{column}"
                    elements[key] = _element(
                        key, declared, f"system {system!r} element {key!r}", purposes, retention
                    )
            tables.append(SqlTable(str(name), keys, erase, tuple(str(c) for c in columns)))
    return tuple(tables), elements


def _system(
    key: str, value: Any, purposes: Mapping[str, object], retention: Mapping[str, object]
) -> ConnectedSystem:
    spec = _entry(value, f"system {key!r}")
    with at(SYSTEMS_FILE, spec, "kind"):
        try:
            kind = SystemKind(str(spec.get("kind")))
        except ValueError:
            raise _fail(f"system {key!r} has unknown kind {spec.get('kind')!r}") from None
    with at(SYSTEMS_FILE, spec, "identifiers"):
        identifiers = _identifiers(
            _strings(spec.get("identifiers"), f"system {key!r} identifiers"),
            f"system {key!r}",
        )
        if not identifiers:
            raise _fail(f"system {key!r} names no identifier a subject is found by")
    with at(SYSTEMS_FILE, spec, "url"):
        url = _url(key, kind, spec)
    tables: tuple[SqlTable, ...] = ()
    if kind is SystemKind.SQL:
        tables, elements = _tables(key, spec, identifiers, purposes, retention)
    else:
        section = _entry(spec.get("elements"), f"system {key!r} elements")
        elements = {}
        for name, declared in section.items():
            with at(SYSTEMS_FILE, section, name):
                elements[str(name)] = _element(
                    str(name), declared, f"system {key!r} element {name!r}", purposes, retention
                )
    if not elements:
        with at(SYSTEMS_FILE, spec, "kind"):
            raise _fail(f"system {key!r} declares no data element")
    source = None
    if spec.get("source") is not None:
        with at(SYSTEMS_FILE, spec, "source"):
            raw = _entry(spec.get("source"), f"system {key!r} source")
            values = {
                name: _text(raw.get(name), f"system {key!r} source.{name}")
                for name in ("origin", "basis", "acquired_on")
            }
            missing = [name for name, item in values.items() if not item]
            if missing:
                raise _fail(f"system {key!r} source lacks {', '.join(missing)} (CORP-1.17)")
            source = Source(**values)
    opt_in = spec.get("opt_in", False) is True
    if opt_in:
        with at(SYSTEMS_FILE, spec, "opt_in"):
            if any(item.legal_basis is not LegalBasis.CONSENT for item in elements.values()):
                raise _fail(
                    f"system {key!r} is opt-in: every element's legal basis must be consent"
                )
    timeout, due = _limits(key, spec)
    completions = completions_of(key, spec, kind, identifiers, retention, tables=tables)
    return ConnectedSystem(
        key=key,
        name=_text(spec.get("name"), f"system {key!r} name") or key,
        kind=kind,
        description=_text(spec.get("description"), f"system {key!r} description"),
        identifiers=identifiers,
        elements=elements,
        url=url,
        tables=tables,
        source=source,
        opt_in=opt_in,
        timeout_seconds=timeout,
        due_days=due,
        completions=completions,
    )


def _activities(raw: dict[str, Any], purposes: Mapping[str, object]) -> dict[str, SystemActivity]:
    found: dict[str, SystemActivity] = {}
    section = _entry(raw.get("activities"), "activities")
    for purpose, value in section.items():
        with at(SYSTEMS_FILE, section, purpose):
            if purpose not in purposes:
                raise _fail(f"activity {purpose!r} is not a purpose of datamap.yaml")
            spec = _entry(value, f"activity {purpose!r}")
            fields = _strings(spec.get("fields"), f"activity {purpose!r} fields")
            if not fields:
                raise _fail(f"activity {purpose!r} lists no fields")
            clauses = _strings(spec.get("clauses"), f"activity {purpose!r} clauses")
            choice = _text(spec.get("choice"), f"activity {purpose!r} choice")
            found[str(purpose)] = SystemActivity(str(purpose), fields, clauses, choice)
    return found


def _check_fields(
    raw: dict[str, Any], systems: dict[str, ConnectedSystem], activities: dict[str, SystemActivity]
) -> None:
    """Each element of a field-listed activity is one of its fields; each field is declared."""
    declared: dict[str, set[str]] = {purpose: set() for purpose in activities}
    section = raw.get("systems") or {}
    for system in systems.values():
        for element in system.elements.values():
            for purpose in element.purposes:
                activity = activities.get(purpose)
                if activity is None:
                    continue
                if element.field not in activity.fields:
                    with at(SYSTEMS_FILE, section, system.key):
                        raise _fail(
                            f"system {system.key!r} element {element.key!r} is field "
                            f"{element.field!r}, not one of activity {purpose!r}'s fields "
                            f"({', '.join(activity.fields)})"
                        )
                declared[purpose].add(element.field)
    activity_section = raw.get("activities") or {}
    for purpose, activity in activities.items():
        missing = [name for name in activity.fields if name not in declared[purpose]]
        if missing and declared[purpose]:
            with at(SYSTEMS_FILE, activity_section, purpose):
                raise _fail(
                    f"activity {purpose!r}: no system declares field(s) {', '.join(missing)}"
                )


def read_systems(
    path: Path, purposes: Mapping[str, object], retention: Mapping[str, object]
) -> SystemsMap:
    """Read ``path/systems.yaml`` (an empty map when the pack has none); any problem raises.

    The :class:`ConfigurationError` names the file and line:
    ``policy pack: systems.yaml:12: system 'shop' names unknown purpose 'x'``.
    """
    source = path / SYSTEMS_FILE
    if not source.exists():
        return SystemsMap()
    raw = load_yaml(source) or {}
    if not isinstance(raw, dict):
        raise _fail(f"{SYSTEMS_FILE} must hold a mapping")
    section = _entry(raw.get("systems"), "systems")
    systems: dict[str, ConnectedSystem] = {}
    for key, value in section.items():
        with at(SYSTEMS_FILE, section, key):
            if not _NAME.match(str(key)):
                raise _fail(f"system {key!r}: a system key is lower-case letters, digits and '_'")
            systems[str(key)] = _system(str(key), value, purposes, retention)
    activities = _activities(raw, purposes)
    _check_fields(raw, systems, activities)
    return SystemsMap(systems, activities)
