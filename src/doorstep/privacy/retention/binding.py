"""How a table binds a retention rule of the policy pack to its rows.

A column names its rule in the data map (``personal(..., retention="…")``); the
rule (pack) names its trigger and period.  What the column cannot say is *which
instant* of a row is the trigger and *what happens* at expiry.  The table says
it, once per rule, with a :class:`Binding`:

* ``trigger`` — where the trigger instant is read: a column of the table
  (``"deregistered_at"``) or, through a foreign key, a column of the row it
  points to (:class:`Via`).  NULL means "has not happened": such rows never
  expire (an active account, a device that is online);
* ``action`` — what expiry does: :class:`Delete` the row, :class:`Anonymise`
  listed columns (NULL, a fixed pseudonym or a :class:`Coarsen`-ed value), or
  nothing here because the data goes with the subject (:class:`ErasedWithSubject`)
  or the audit trail's own path (:class:`PruneAuditTrail`);
* ``offset``/``offset_setting`` — a fixed or configured delay added to the
  trigger instant (``device_offline_after_seconds``: "offline" starts that long
  after the last contact);
* ``where`` — an extra SQL condition a row must meet to expire.

A model declares its bindings beside its columns::

    __table_args__ = (
        {"info": retention_info(Binding("pppoe_credentials", trigger="unbound_at", action=DELETE))},
    )

Bindings of tables whose owners have not declared them yet live in
:mod:`doorstep.privacy.retention.bindings`.  :mod:`.registry` validates all of
them at start-up.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

#: ``Table.info`` key holding a table's bindings.
INFO_KEY = "retention"


@dataclass(frozen=True, slots=True)
class Via:
    """The trigger instant is ``column`` of the row that ``foreign_key`` points to."""

    foreign_key: str
    column: str


@dataclass(frozen=True, slots=True)
class Coarsen:
    """Replace a value with a coarser one: ``sql`` is an SQL expression over the row.

    Example: ``Coarsen("date_trunc('month', first_seen)")``.  Applying it twice
    must give the same value (the sweep relies on the marker column, not on it).
    """

    sql: str


#: What an anonymised column becomes: NULL (None), a fixed pseudonym (a literal), or coarser.
Replacement = None | str | int | bytes | Coarsen


@dataclass(frozen=True, slots=True)
class Delete:
    """Delete the expired row."""


@dataclass(frozen=True, slots=True, init=False)
class Anonymise:
    """Overwrite the listed columns of an expired row; the row itself stays.

    ``marker`` names a timestamp column the sweep sets to the run's instant: what
    is still to do is ``marker IS NULL``.  Without a marker every replacement
    must be NULL, and what is still to do is "any listed column IS NOT NULL".
    """

    columns: tuple[tuple[str, Replacement], ...]
    marker: str | None

    def __init__(self, columns: Mapping[str, Replacement], *, marker: str | None = None) -> None:
        object.__setattr__(self, "columns", tuple(columns.items()))
        object.__setattr__(self, "marker", marker)

    @property
    def names(self) -> tuple[str, ...]:
        """The overwritten columns."""
        return tuple(name for name, _ in self.columns)


@dataclass(frozen=True, slots=True)
class ErasedWithSubject:
    """Nothing to sweep: the rows go when their data subject is erased.

    ``column`` holds the subject's id (a foreign key to ``subjects`` that
    cascades, or a key the erasure step deletes by).  Used with rules whose
    trigger is ``subject_erased``.
    """

    column: str


@dataclass(frozen=True, slots=True)
class PruneAuditTrail:
    """The audit trail's own path: prune sealed events up to a checkpoint (decision 0005)."""


Action = Delete | Anonymise | ErasedWithSubject | PruneAuditTrail

#: The one :class:`Delete` action (it has no parameters).
DELETE = Delete()


@dataclass(frozen=True, slots=True)
class Binding:
    """Rule ``rule`` (a key of the pack's ``retention``) applies to this table like so.

    See the module docstring for the fields.  ``offset_setting`` names an
    integer field of :class:`~doorstep.core.settings.Settings`, in seconds.
    """

    rule: str
    action: Action
    trigger: str | Via | None = None
    offset: timedelta = timedelta(0)
    offset_setting: str | None = None
    where: str | None = None

    @property
    def sweeps(self) -> bool:
        """Whether a sweep executes this binding (deletes or anonymises rows here)."""
        return isinstance(self.action, Delete | Anonymise | PruneAuditTrail)

    def describe_trigger(self, table: str) -> str:
        """``table.column`` (or ``table.fk → other.column``) the trigger is read from."""
        if isinstance(self.trigger, Via):
            return f"{table}.{self.trigger.foreign_key} -> {self.trigger.column}"
        if self.trigger is None:
            if isinstance(self.action, ErasedWithSubject):
                return f"erasure of the subject in {table}.{self.action.column}"
            return "-"
        return f"{table}.{self.trigger}"

    def describe_action(self) -> str:
        """A short phrase for plans and reports: ``delete row``, ``anonymise a, b`` …"""
        action = self.action
        if isinstance(action, Delete):
            return "delete row"
        if isinstance(action, Anonymise):
            return "anonymise " + ", ".join(action.names)
        if isinstance(action, ErasedWithSubject):
            return "deleted with the subject"
        return "prune up to a checkpoint"


def retention_info(*bindings: Binding, **info: Any) -> dict[str, Any]:
    """``info=`` of a table (``__table_args__ = ({"info": retention_info(...)},)``)."""
    return {INFO_KEY: tuple(bindings), **info}
