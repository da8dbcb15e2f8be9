"""The statements of a sweep, built from a binding and a cutoff.

One batch is one statement::

    WITH batch AS (SELECT <pk> FROM t WHERE <expired> AND <still to do>
                   ORDER BY <trigger> LIMIT :n FOR UPDATE OF t SKIP LOCKED)
    DELETE FROM t USING batch WHERE t.<pk> = batch.<pk>          -- or UPDATE … SET …

``FOR UPDATE … SKIP LOCKED`` is what makes several workers safe: a row locked by
one is invisible to the others' batches, and once that worker commits the row
no longer matches "still to do" (deleted, or its marker set), so no row is
handled twice.  A row is expired when its trigger instant is at or before the
cutoff (``now - period - offset``), so the trigger column is compared with a
constant and an index on it serves the batch (ordered by it, the batch stops
after ``n`` rows).  Rows a legal hold keeps are never in a batch (``AND NOT
EXISTS (<a standing hold on the row's subject and element>)``); they are counted
apart and reported as held.  The owning area creates that index, partial on what is
still to do (``WHERE anonymised_at IS NULL``) for an anonymisation.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa

from doorstep.privacy.retention.binding import Anonymise, Binding, Coarsen, Delete, Via


def _fk_target(table: sa.Table, via: Via) -> tuple[sa.Column[Any], sa.Column[Any]]:
    """(this table's foreign-key column, the referred column)."""
    column = table.c[via.foreign_key]
    (key,) = column.foreign_keys
    return column, key.column


def expired(table: sa.Table, binding: Binding, cutoff: datetime) -> sa.ColumnElement[bool]:
    """Rows whose trigger instant is at or before ``cutoff`` (NULL: not happened, never)."""
    trigger = binding.trigger
    condition: sa.ColumnElement[bool]
    if isinstance(trigger, Via):
        column, referred = _fk_target(table, trigger)
        parent = referred.table
        condition = (
            sa.exists()
            .where(referred == column, parent.c[trigger.column] <= cutoff)
            .correlate(table)
        )
    else:
        assert trigger is not None, "validated: a sweep has a trigger"
        condition = table.c[trigger] <= cutoff
    if binding.where:
        condition = sa.and_(condition, sa.text(f"({binding.where})"))
    return condition


def still_to_do(table: sa.Table, binding: Binding) -> sa.ColumnElement[bool]:
    """Rows the binding has not handled yet: every row for a delete; unmarked ones otherwise."""
    action = binding.action
    if isinstance(action, Anonymise):
        if action.marker is not None:
            return table.c[action.marker].is_(None)
        return sa.or_(*(table.c[name].is_not(None) for name in action.names))
    return sa.true()


def _order(table: sa.Table, binding: Binding) -> list[sa.ColumnElement[Any]]:
    """Oldest first when an index leads with the trigger column; else no order at all.

    Ordering by anything an index does not deliver would sort every due row for
    each batch; without ORDER BY the batch stops at the first ``n`` it finds.
    No tie-breaker either, for the same reason: the end state does not depend
    on which batch takes a row.
    """
    trigger = binding.trigger
    if isinstance(trigger, str) and any(
        [column.name for column in index.columns][:1] == [trigger] for index in table.indexes
    ):
        return [table.c[trigger]]
    return []


def _spared(held: sa.ColumnElement[bool] | None) -> sa.ColumnElement[bool]:
    """Rows no legal hold keeps (every row when nothing of the table can be held)."""
    return sa.true() if held is None else sa.not_(held)


def count_due(
    table: sa.Table,
    binding: Binding,
    cutoff: datetime,
    held: sa.ColumnElement[bool] | None = None,
) -> sa.Select[int]:
    """``SELECT count(*)`` of the rows a sweep at ``cutoff`` would handle (held ones spared)."""
    return (
        sa.select(sa.func.count())
        .select_from(table)
        .where(expired(table, binding, cutoff), still_to_do(table, binding), _spared(held))
    )


def count_held(
    table: sa.Table, binding: Binding, cutoff: datetime, held: sa.ColumnElement[bool]
) -> sa.Select[int]:
    """``SELECT count(*)`` of the rows that are due but kept by a legal hold."""
    return (
        sa.select(sa.func.count())
        .select_from(table)
        .where(expired(table, binding, cutoff), still_to_do(table, binding), held)
    )


def _replacement(column: sa.Column[Any], value: object) -> Any:
    if value is None:
        return sa.null()
    if isinstance(value, Coarsen):
        return sa.literal_column(f"({value.sql})", type_=column.type)
    return sa.literal(value, type_=column.type)


def batch_statement(
    table: sa.Table,
    binding: Binding,
    cutoff: datetime,
    now: datetime,
    size: int,
    *,
    held: sa.ColumnElement[bool] | None = None,
) -> sa.Delete | sa.Update:
    """The statement that handles at most ``size`` due rows (see the module docstring).

    ``held`` selects the rows a legal hold keeps
    (:func:`doorstep.privacy.holds.elements.held_rows`): the batch never takes them.
    """
    keys = list(table.primary_key.columns)
    batch = (
        sa.select(*keys)
        .where(expired(table, binding, cutoff), still_to_do(table, binding), _spared(held))
        .order_by(*_order(table, binding))
        .limit(size)
        .with_for_update(of=table, skip_locked=True)
        .cte("retention_batch")
    )
    match = sa.and_(*(key == batch.c[key.name] for key in keys))
    action = binding.action
    if isinstance(action, Delete):
        return sa.delete(table).where(match)
    assert isinstance(action, Anonymise), "validated: only deletes and anonymisations sweep rows"
    values: dict[str, Any] = {
        name: _replacement(table.c[name], value) for name, value in action.columns
    }
    if action.marker is not None:
        values[action.marker] = sa.literal(now, type_=table.c[action.marker].type)
    return sa.update(table).where(match).values(values)
