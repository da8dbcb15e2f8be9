"""How each table with personal data links to its subject, found from the schema and the data map.

Export and erasure are generic: for every table that has a ``personal(...)``
column they need "the rows of subject S".  The link is found, in this order:

1. an explicit declaration: ``Table.info["subject_link"]`` (a :class:`Direct`,
   :class:`Through` or :class:`Unlinkable`), or an entry of :data:`DECLARED`
   for tables whose owners have not declared one yet;
2. ``subjects`` itself (``id``);
3. a column with a foreign key to ``subjects.id`` (e.g. ``accounts.id``);
4. a column named ``subject_id`` declared ``user.unique_id.pseudonymous``
   (tables that outlive the subject keep no foreign key: audit, outbox, requests);
5. a foreign key to a column that is itself its table's direct link (the
   identity chain ``account_sessions.account_id → accounts.id → subjects.id``);
6. a foreign key to any linked table (:class:`Through`:
   ``device_pppoe.binding_id → device_bindings.id``, whose ``subject_id`` is S).

It lives beside the subjects because every area that asks "whose row is
this?" needs it: the requests area (export, erasure, corrections), legal holds
and, through them, the retention sweeps; :mod:`doorstep.privacy.requests.linkage`
re-exports it.

A table with personal columns and no link fails :func:`unlinked`, which the test
suite runs: a new table cannot silently fall out of exports and erasures.
Leaving a table out on purpose is an :class:`Unlinkable` with the reason
(CPE-V.1.d: the "excessive effort" justification is recorded, and the README
of every export names it).
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass

import sqlalchemy as sa

from doorstep.vocabulary.declarations import INFO_KEY, PersonalData

LINK_KEY = "subject_link"
PSEUDONYMOUS_ID = "user.unique_id.pseudonymous"


@dataclass(frozen=True, slots=True)
class Direct:
    """``column`` holds the subject's id."""

    column: str


@dataclass(frozen=True, slots=True)
class Through:
    """``column`` matches ``table.key`` of rows of ``table`` that are the subject's.

    ``current`` names a column of ``table`` that must be NULL for the link to
    hold (``unbound_at``: a device's record is the subscriber's only while the
    binding is open; once it ends, the record is the next owner's).
    """

    column: str
    table: str
    key: str
    current: str | None = None


@dataclass(frozen=True, slots=True)
class Unlinkable:
    """The table cannot be tied to a subject; ``reason`` says why (recorded, reviewable)."""

    reason: str

    def __post_init__(self) -> None:
        if not self.reason.strip():
            raise ValueError("leaving a table out of exports needs a recorded reason")


Link = Direct | Through | Unlinkable

#: Links of tables whose models do not declare one (yet).  An owner who adds
#: ``info={"subject_link": ...}`` to the table deletes the entry here.
DECLARED: Mapping[str, Link] = {
    "account_rate_limits": Unlinkable(
        "keyed hashes of sign-in identifiers and client addresses with attempt counts, kept two "
        "hours; they cannot be tied to a subject without the identifier itself"
    ),
    # A device's registration record is the subscriber's while the device is bound to them.
    "device_registrations": Through(
        "device_id", "device_bindings", "device_id", current="unbound_at"
    ),
}


def personal_tables(metadata: sa.MetaData) -> list[sa.Table]:
    """Tables with at least one personal column, by name."""
    return sorted(
        (
            table
            for table in metadata.tables.values()
            if any(isinstance(c.info.get(INFO_KEY), PersonalData) for c in table.columns)
        ),
        key=lambda table: str(table.name),
    )


def personal_columns(table: sa.Table) -> list[tuple[sa.Column[object], PersonalData]]:
    """The table's personal columns with their declarations, in table order."""
    return [
        (column, column.info[INFO_KEY])
        for column in table.columns
        if isinstance(column.info.get(INFO_KEY), PersonalData)
    ]


def link_of(table: sa.Table, *, _seen: frozenset[str] = frozenset()) -> Link | None:
    """The table's link to its subject (see the module's docstring), or None."""
    name = str(table.name)
    declared = table.info.get(LINK_KEY) or DECLARED.get(name)
    if isinstance(declared, Direct | Through | Unlinkable):
        return declared
    if name == "subjects":
        return Direct("id")
    for column in table.columns:
        if any(fk.target_fullname == "subjects.id" for fk in column.foreign_keys):
            return Direct(column.name)
    subject_id = table.columns.get("subject_id")
    declaration = subject_id.info.get(INFO_KEY) if subject_id is not None else None
    if isinstance(declaration, PersonalData) and declaration.category == PSEUDONYMOUS_ID:
        return Direct("subject_id")
    return _through_foreign_key(table, _seen | {name})


def _through_foreign_key(table: sa.Table, seen: frozenset[str]) -> Link | None:
    found: Link | None = None
    for column in table.columns:
        for fk in column.foreign_keys:
            target = fk.column.table
            if str(target.name) in seen:
                continue
            link = link_of(target, _seen=seen)
            if isinstance(link, Direct) and link.column == fk.column.name:
                return Direct(column.name)
            if isinstance(link, Direct | Through) and found is None:
                found = Through(column.name, str(target.name), fk.column.name)
    return found


def unlinked(metadata: sa.MetaData) -> list[str]:
    """Personal tables with no link to a subject (must be empty)."""
    return [str(t.name) for t in personal_tables(metadata) if link_of(t) is None]


def rows_of(
    metadata: sa.MetaData,
    table: sa.Table,
    subject_id: uuid.UUID | sa.BindParameter[uuid.UUID] | sa.ColumnElement[uuid.UUID],
) -> sa.ColumnElement[bool] | None:
    """A WHERE clause selecting the subject's rows of ``table`` (None: unlinkable).

    ``subject_id`` is a value, a bound parameter (statements compiled once and
    run for many subjects) or a column of another table (a correlated
    condition: "rows of a subject that has a legal hold", :mod:`doorstep.privacy.holds`).
    """
    link = link_of(table)
    if isinstance(link, Direct):
        return table.c[link.column] == subject_id
    if isinstance(link, Through):
        target = metadata.tables[link.table]
        inner = rows_of(metadata, target, subject_id)
        if inner is None:
            return None
        if link.current is not None:
            inner = sa.and_(inner, target.c[link.current].is_(None))
        return table.c[link.column].in_(sa.select(target.c[link.key]).where(inner))
    return None
