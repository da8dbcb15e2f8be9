"""Collect every table's retention bindings and check them against the data map and pack.

:func:`validate_retention` runs at start-up beside ``validate_datamap`` and fails
naming each problem: a binding to a rule the pack does not have, to a
``not_stored`` rule, or naming a column (trigger, foreign key, anonymised
column, marker) the table does not have; a personal column whose rule has no
binding on its table; a column that declares a ``not_stored`` rule; a binding
no column of its table needs; retention settings that do not fit the pack.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass

import sqlalchemy as sa

from doorstep.core.errors import ConfigurationError
from doorstep.core.settings import Settings
from doorstep.privacy.datamap.pack import PolicyPack, Trigger
from doorstep.privacy.retention.binding import (
    INFO_KEY,
    Anonymise,
    Binding,
    ErasedWithSubject,
    PruneAuditTrail,
    Via,
)
from doorstep.privacy.retention.bindings import BINDINGS, EXTERNAL
from doorstep.privacy.retention.periods import period_problems
from doorstep.vocabulary.declarations import INFO_KEY as DATAMAP_KEY
from doorstep.vocabulary.declarations import PersonalData

#: The one table :class:`PruneAuditTrail` may be bound to.
AUDIT_TABLE = "audit_events"


@dataclass(frozen=True)
class Bound:
    """One binding on one table."""

    table: sa.Table
    binding: Binding

    @property
    def name(self) -> str:
        """``rule@table``: how plans, reports and audit events name it."""
        return f"{self.binding.rule}@{self.table.name}"


def collect(
    metadata: sa.MetaData, extra: Mapping[str, tuple[Binding, ...]] = BINDINGS
) -> list[Bound]:
    """Every binding of ``metadata``'s tables (``Table.info`` first, then ``extra``)."""
    found: list[Bound] = []
    for name in sorted(metadata.tables):
        table = metadata.tables[name]
        declared = tuple(table.info.get(INFO_KEY, ())) + tuple(extra.get(name, ()))
        found.extend(Bound(table, binding) for binding in declared)
    return found


def _personal_rules(table: sa.Table) -> dict[str, list[str]]:
    """rule -> columns of ``table`` that declare it."""
    rules: dict[str, list[str]] = defaultdict(list)
    for column in table.columns:
        declaration = column.info.get(DATAMAP_KEY)
        if isinstance(declaration, PersonalData):
            rules[declaration.retention].append(str(column.name))
    return rules


def _column_problems(table: sa.Table, binding: Binding, where: str) -> list[str]:
    found: list[str] = []
    columns = table.columns
    trigger = binding.trigger
    if isinstance(trigger, Via):
        fk_column = columns.get(trigger.foreign_key)
        keys = list(fk_column.foreign_keys) if fk_column is not None else []
        if len(keys) != 1:
            found.append(f"{where}: {table.name}.{trigger.foreign_key} is not a foreign key")
        elif trigger.column not in keys[0].column.table.columns:
            target = keys[0].column.table.name
            found.append(f"{where}: trigger column {target}.{trigger.column} does not exist")
    elif trigger is not None and trigger not in columns:
        found.append(f"{where}: trigger column {table.name}.{trigger} does not exist")
    action = binding.action
    if isinstance(action, Anonymise):
        for name, value in action.columns:
            column = columns.get(name)
            if column is None:
                found.append(f"{where}: anonymised column {table.name}.{name} does not exist")
            elif value is None and not column.nullable:
                found.append(f"{where}: {table.name}.{name} is NOT NULL; it cannot become NULL")
        if action.marker is not None and action.marker not in columns:
            found.append(f"{where}: marker column {table.name}.{action.marker} does not exist")
        if action.marker is None and any(value is not None for _, value in action.columns):
            found.append(f"{where}: an anonymisation that is not all NULL needs a marker column")
    if isinstance(action, ErasedWithSubject) and action.column not in columns:
        found.append(f"{where}: subject column {table.name}.{action.column} does not exist")
    return found


def _binding_problems(bound: Bound, pack: PolicyPack) -> list[str]:
    table, binding = bound.table, bound.binding
    where = f"{table.name}: binding of {binding.rule!r}"
    rule = pack.retention.get(binding.rule)
    if rule is None:
        return [f"{table.name}: retention binding names unknown rule {binding.rule!r}"]
    if rule.trigger is Trigger.NOT_STORED:
        return [
            f"{where}: the rule is not_stored; data declared never stored cannot be bound "
            "to a table"
        ]
    found = _column_problems(table, binding, where)
    action = binding.action
    by_erasure = rule.trigger is Trigger.SUBJECT_ERASED
    if isinstance(action, ErasedWithSubject) != by_erasure:
        found.append(
            f"{where}: rules with trigger subject_erased (and only they) are bound with "
            f"ErasedWithSubject; this rule's trigger is {rule.trigger.value}"
        )
    if binding.sweeps and binding.trigger is None:
        found.append(f"{where}: a sweep needs a trigger column")
    if isinstance(action, PruneAuditTrail) and table.name != AUDIT_TABLE:
        found.append(f"{where}: PruneAuditTrail applies to {AUDIT_TABLE} only")
    if binding.offset_setting is not None:
        field = Settings.model_fields.get(binding.offset_setting)
        if field is None or field.annotation is not int:
            found.append(f"{where}: offset_setting {binding.offset_setting!r} is no int setting")
    return found


def problems(
    metadata: sa.MetaData,
    pack: PolicyPack,
    settings: Settings | None = None,
    *,
    extra: Mapping[str, tuple[Binding, ...]] = BINDINGS,
) -> list[str]:
    """Every reason the bindings do not fit the schema, the data map and the pack."""
    found = [
        f"{name}: retention bindings for a table that is not in the schema"
        for name in sorted(set(extra) - set(metadata.tables))
    ]
    bindings = collect(metadata, extra)
    seen: set[tuple[str, Binding]] = set()
    by_table: dict[str, list[Binding]] = defaultdict(list)
    for bound in bindings:
        key = (str(bound.table.name), bound.binding)
        if key in seen:
            found.append(f"{bound.table.name}: the binding of {bound.binding.rule!r} is repeated")
        seen.add(key)
        by_table[str(bound.table.name)].append(bound.binding)
        found.extend(_binding_problems(bound, pack))
    for name in sorted(metadata.tables):
        table = metadata.tables[name]
        rules = _personal_rules(table)
        bound_rules = {binding.rule for binding in by_table.get(name, [])}
        for rule_key, columns in sorted(rules.items()):
            rule = pack.retention.get(rule_key)
            if rule is not None and rule.trigger is Trigger.NOT_STORED:
                found.extend(
                    f"{name}.{column}: declares retention rule {rule_key!r}, which is "
                    "not_stored: this data must never be stored"
                    for column in columns
                )
            elif rule is not None and rule_key not in bound_rules and rule_key not in EXTERNAL:
                found.extend(
                    f"{name}.{column}: retention rule {rule_key!r} has no binding on table {name}"
                    for column in columns
                )
        for binding in by_table.get(name, []):
            if binding.rule not in rules and binding.rule in pack.retention:
                found.append(f"{name}: binds rule {binding.rule!r} but no column of {name} has it")
            action = binding.action
            if isinstance(action, Anonymise):
                left = sorted(set(rules.get(binding.rule, ())) - set(action.names))
                found.extend(
                    f"{name}.{column}: has rule {binding.rule!r} but its anonymisation "
                    "leaves the column as it is"
                    for column in left
                )
    if settings is not None:
        found.extend(period_problems(pack, settings))
    return found


def validate_retention(
    metadata: sa.MetaData,
    pack: PolicyPack,
    settings: Settings | None = None,
    *,
    extra: Mapping[str, tuple[Binding, ...]] = BINDINGS,
) -> None:
    """Raise :class:`ConfigurationError` listing every problem, or return quietly."""
    found = problems(metadata, pack, settings, extra=extra)
    if found:
        raise ConfigurationError("retention is invalid: " + "; ".join(found), problems=found)
