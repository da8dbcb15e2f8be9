"""Bindings made concrete: each with its rule, the period in force and its cutoff.

A :class:`Target` is what plans, sweeps and reports iterate over; its
:attr:`~Target.held` condition spares the rows a legal hold keeps.  It is built by
:func:`targets` after :func:`~doorstep.privacy.retention.registry.validate_retention`
passed, so its columns, rule and period are known to be sound.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cached_property

import sqlalchemy as sa
from sqlalchemy.orm import Session

from doorstep.audit.services import prunable
from doorstep.core.errors import InvalidInputError
from doorstep.core.settings import Settings
from doorstep.privacy.datamap.pack import PolicyPack, RetentionRule
from doorstep.privacy.holds.elements import held_rows, holds_keeping
from doorstep.privacy.retention import _sql
from doorstep.privacy.retention.binding import Anonymise, Binding, Delete, PruneAuditTrail
from doorstep.privacy.retention.bindings import BINDINGS
from doorstep.privacy.retention.periods import effective_period
from doorstep.privacy.retention.registry import collect, validate_retention


@dataclass(frozen=True)
class Target:
    """One binding with its rule, the period in force (None: kept for good) and offset."""

    table: sa.Table
    binding: Binding
    rule: RetentionRule
    period: timedelta | None
    offset: timedelta

    @property
    def name(self) -> str:
        """``rule@table``."""
        return f"{self.rule.key}@{self.table.name}"

    @property
    def sweeps(self) -> bool:
        """Whether a sweep executes it (False: erased with the subject, or kept for good)."""
        return self.binding.sweeps and self.period is not None

    @property
    def action_name(self) -> str:
        """``delete``, ``anonymise`` or ``prune``: the word audit events use."""
        kind = type(self.binding.action).__name__
        return {"Delete": "delete", "Anonymise": "anonymise", "PruneAuditTrail": "prune"}.get(
            kind, "none"
        )

    @property
    def changes(self) -> tuple[str, ...]:
        """The columns a sweep changes: every one for a deletion, the overwritten ones else."""
        action = self.binding.action
        if isinstance(action, Delete):
            return tuple(column.name for column in self.table.columns)
        if isinstance(action, Anonymise):
            return action.names
        return ()

    @cached_property
    def held(self) -> sa.ColumnElement[bool] | None:
        """SQL: the row is kept by a legal hold (None: nothing this binding changes can be held).

        A hold on the whole subject, on the table or on a column the sweep
        changes keeps the row (:func:`~doorstep.privacy.holds.elements.held_rows`).
        """
        return held_rows(self.table, self.changes) if self.changes else None

    def holding(self, session: Session, now: datetime) -> dict[str, int]:
        """Legal basis -> number of standing holds that keep due rows from a sweep at ``now``."""
        cutoff = self.cutoff(now)
        if cutoff is None or not self.changes:
            return {}
        due = sa.and_(
            _sql.expired(self.table, self.binding, cutoff),
            _sql.still_to_do(self.table, self.binding),
        )
        query = holds_keeping(self.table, self.changes, due)
        if query is None:
            return {}
        return {str(basis): int(count) for basis, count in session.execute(query)}

    def cutoff(self, now: datetime) -> datetime | None:
        """Rows whose trigger instant is at or before this are due (None: never)."""
        if self.period is None:
            return None
        return now - self.period - self.offset

    def count_due(self, session: Session, now: datetime) -> int | None:
        """How many rows (events, for the audit trail) a sweep at ``now`` would handle."""
        cutoff = self.cutoff(now)
        if cutoff is None or not self.binding.sweeps:
            return None
        if isinstance(self.binding.action, PruneAuditTrail):
            return prunable(session, cutoff=cutoff)
        query = _sql.count_due(self.table, self.binding, cutoff, self.held)
        return session.execute(query).scalar_one()

    def count_held(self, session: Session, now: datetime) -> int:
        """How many due rows a legal hold keeps from a sweep at ``now``."""
        cutoff = self.cutoff(now)
        if cutoff is None or self.held is None or not self.binding.sweeps:
            return 0
        query = _sql.count_held(self.table, self.binding, cutoff, self.held)
        return int(session.execute(query).scalar_one())


def targets(
    metadata: sa.MetaData,
    pack: PolicyPack,
    settings: Settings,
    *,
    rule: str | None = None,
    extra: Mapping[str, tuple[Binding, ...]] = BINDINGS,
) -> list[Target]:
    """Every binding of ``metadata`` as a :class:`Target` (only ``rule``'s, when given).

    Raises :class:`ConfigurationError` when the bindings or settings are invalid,
    and :class:`InvalidInputError` for a ``rule`` no table binds.
    """
    validate_retention(metadata, pack, settings, extra=extra)
    found = [
        make_target(bound.table, bound.binding, pack, settings)
        for bound in collect(metadata, extra)
        if rule is None or bound.binding.rule == rule
    ]
    if rule is not None and not found:
        known = ", ".join(sorted({bound.binding.rule for bound in collect(metadata, extra)}))
        raise InvalidInputError(f"no table binds retention rule {rule!r}; bound rules: {known}")
    return sorted(found, key=lambda target: (target.rule.key, str(target.table.name)))


def make_target(table: sa.Table, binding: Binding, pack: PolicyPack, settings: Settings) -> Target:
    """One binding as a :class:`Target` (validate it first: see :func:`targets`)."""
    offset = binding.offset
    if binding.offset_setting is not None:
        offset += timedelta(seconds=int(getattr(settings, binding.offset_setting)))
    return Target(
        table=table,
        binding=binding,
        rule=pack.retention[binding.rule],
        period=effective_period(pack, settings, binding.rule),
        offset=offset,
    )
