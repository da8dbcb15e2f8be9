"""What a hold may name, and what a subject's holds cover.

An element is a personal table of the data map (``device_pppoe``) or one
personal column of it (``accounts.email``); no element (None) holds every
table.  A table must link to its subject (:mod:`doorstep.privacy.subjects.linkage`),
or nobody could tell which of its rows are held.  Two tables cannot be held:
the audit trail, which is pruned only up to a checkpoint (decision 0005) and
never row by row, and the holds' own tables, which are evidence already.

:class:`Held` is what erasure asks ("which of this subject's tables and
columns must stay?"); :func:`held_rows` is what the retention sweeps ask ("is
this row held?"), as one SQL condition correlated to the swept table.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import sqlalchemy as sa

from doorstep.core.errors import InvalidInputError
from doorstep.privacy.holds.models import HoldDeferral, LegalHold
from doorstep.privacy.subjects.linkage import (
    Direct,
    Through,
    link_of,
    personal_columns,
    personal_tables,
    rows_of,
)

#: Tables no hold may name, with the reason the refusal gives.
NOT_HOLDABLE: dict[str, str] = {
    "audit_events": "the audit trail is pruned only up to a checkpoint, never row by row",
    LegalHold.__tablename__: "a hold is evidence already",
    HoldDeferral.__tablename__: "a deferral is evidence already",
}


def _refused(detail: str) -> InvalidInputError:
    return InvalidInputError(detail, errors=[{"field": "element", "rule": "holdable_element"}])


def check_element(metadata: sa.MetaData, element: str | None) -> str | None:
    """``element`` as stored (None: the whole subject), or :class:`InvalidInputError`.

    The caller's text is never repeated in the error: it names the rule only.
    """
    if element is None or not element.strip():
        return None
    name, _, column = element.strip().partition(".")
    table = metadata.tables.get(name)
    if table is None or name in NOT_HOLDABLE:
        raise _refused("the element must be a table or table.column of the data map")
    if not isinstance(link_of(table), Direct | Through):
        raise _refused("the element's table does not link to its subject")
    personal = {c.name for c, _ in personal_columns(table)}
    if not personal or (column and column not in personal):
        raise _refused("the element must name personal data of the data map")
    return f"{name}.{column}" if column else name


@dataclass(frozen=True, slots=True)
class Held:
    """The elements a subject's standing holds cover (empty: nothing is held)."""

    elements: frozenset[str | None] = frozenset()

    def __bool__(self) -> bool:
        return bool(self.elements)

    @property
    def everything(self) -> bool:
        """Whether a hold covers all of the subject's data."""
        return None in self.elements

    def table(self, name: str) -> bool:
        """Whether every row of table ``name`` that is the subject's stays."""
        return self.everything or name in self.elements

    def columns(self, name: str) -> frozenset[str]:
        """The held columns of table ``name`` (held one by one)."""
        prefix = name + "."
        return frozenset(
            element[len(prefix) :]
            for element in self.elements
            if element is not None and element.startswith(prefix)
        )

    def touches(self, name: str) -> bool:
        """Whether anything of table ``name`` is held."""
        return self.table(name) or bool(self.columns(name))

    @property
    def key(self) -> str:
        """A canonical spelling (``*`` for everything): statements are cached by it."""
        if self.everything:
            return "*"
        return "|".join(sorted(element for element in self.elements if element is not None))


def keeps_key(metadata: sa.MetaData, held: Held) -> bool:
    """Whether a held element is encrypted with the subject's key, which must then stay
    (destroying it would shred the held data too)."""
    if not held:
        return False
    return any(
        declaration.secret
        and (held.table(str(table.name)) or column.name in held.columns(str(table.name)))
        for table in personal_tables(metadata)
        for column, declaration in personal_columns(table)
    )


def elements_of(table: sa.Table, columns: Iterable[str]) -> list[str]:
    """The element names that hold ``columns`` of ``table``: the table and each column."""
    return [str(table.name), *(f"{table.name}.{column}" for column in columns)]


def held_rows(table: sa.Table, columns: Iterable[str]) -> sa.ColumnElement[bool] | None:
    """SQL: the row of ``table`` belongs to a subject with a standing hold on it.

    A hold on it is one on the whole subject, on the table, or on one of
    ``columns`` (the columns the caller would change: every column for a
    deletion).  None when the table does not link to a subject (nothing of it
    can be held).  Correlated to ``table``: use it in a WHERE over it.
    """
    if str(table.name) in NOT_HOLDABLE or not isinstance(link_of(table), Direct | Through):
        return None
    hold = sa.alias(LegalHold.__table__, name="standing_hold")
    theirs = rows_of(table.metadata, table, hold.c.subject_id)
    if theirs is None:  # pragma: no cover - linked tables always give a condition
        return None
    return (
        sa.exists()
        .where(
            hold.c.released_at.is_(None),
            sa.or_(hold.c.element.is_(None), hold.c.element.in_(elements_of(table, columns))),
            theirs,
        )
        .correlate(table)
    )


def holds_keeping(
    table: sa.Table, columns: Iterable[str], due: sa.ColumnElement[bool]
) -> sa.Select[str, int] | None:
    """SQL: (basis, number of holds) of the standing holds that keep rows of ``table``
    matching ``due`` — what a sweep reports as the reason it kept them."""
    if str(table.name) in NOT_HOLDABLE or not isinstance(link_of(table), Direct | Through):
        return None
    hold = LegalHold.__table__
    theirs = rows_of(table.metadata, table, hold.c.subject_id)
    if theirs is None:  # pragma: no cover - linked tables always give a condition
        return None
    keeps = sa.exists().select_from(table).where(due, theirs)
    return (
        sa.select(hold.c.basis, sa.func.count().label("holds"))
        .where(
            hold.c.released_at.is_(None),
            sa.or_(hold.c.element.is_(None), hold.c.element.in_(elements_of(table, columns))),
            keeps,
        )
        .group_by(hold.c.basis)
        .order_by(hold.c.basis)
    )
