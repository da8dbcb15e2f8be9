"""The source attribute of collected records, and the one check every write of one calls.

A table whose rows are collected from a person — an account, a linked sign-in
provider, a device's registration record, a privacy question — has a ``source``
column holding the key of the collection point the row was collected at
(CORP-1.1, :mod:`.pack_collection`, decision 0036).  The column is declared with
:func:`source_column_info`, which names the points the code writes there; so
``doorstep pack check`` proves that a pack with a registry registers each of them
for that table (:mod:`doorstep.packcheck.registers`), and start-up refuses one
that does not.

:func:`checked_source` is the check every write path calls before it writes such
a row: no source, or one that is not registered for the table, raises
:class:`InvalidInputError` (``field: source``) and nothing is written.  Registered
means: a point of the pack's ``collection_points:`` that lists the table in its
``records:`` when the caller hands the pack in force and it has a registry;
otherwise one of the points the column declares.  The database refuses a row
without a source as well (``NOT NULL``).
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from doorstep.core.errors import InvalidInputError
from doorstep.privacy.datamap.pack import PolicyPack
from doorstep.vocabulary import not_personal

#: The column every collected table has.
SOURCE = "source"
#: Where the column's declaration keeps the points the code writes.
POINTS_KEY = "collection_points"


def source_column_info(*points: str) -> dict[str, Any]:
    """``info=`` of a ``source`` column that the code fills with one of ``points``."""
    if not points:
        raise ValueError("a source column names the collection points the code writes")
    return not_personal(
        "key of the collection point the row was collected at (CORP-1.1), one of the "
        "pack's collection_points; never a value the person gave",
        export=True,
        **{POINTS_KEY: tuple(points)},
    )


def declared_points(table: sa.Table) -> tuple[str, ...]:
    """The points ``table``'s ``source`` column declares (empty: the table has none)."""
    column = table.columns.get(SOURCE)
    if column is None:
        return ()
    return tuple(column.info.get(POINTS_KEY) or ())


def source_tables(metadata: sa.MetaData) -> dict[str, tuple[str, ...]]:
    """Every table with a declared ``source`` column, and the points it declares."""
    return {
        str(table.name): points
        for table in metadata.tables.values()
        if (points := declared_points(table))
    }


def checked_source(table: sa.FromClause, source: str | None, pack: PolicyPack | None = None) -> str:
    """``source`` when a row of ``table`` (a model's ``__table__``) may be written with it.

    Raises :class:`InvalidInputError` with rule ``required`` (no source) or
    ``registered_collection_point`` (not registered for the table); the caller
    has written nothing yet, and writes nothing.
    """
    if not isinstance(table, sa.Table):
        raise TypeError("checked_source needs a table")
    if not source or not source.strip():
        raise InvalidInputError.of(
            SOURCE,
            "required",
            f"a record collected into {table.name} must name its collection point (CORP-1.1)",
        )
    registry = pack.collection_points if pack is not None else {}
    if registry:
        point = registry.get(source)
        registered = point is not None and str(table.name) in point.records
    else:
        registered = source in declared_points(table)
    if not registered:
        raise InvalidInputError.of(
            SOURCE,
            "registered_collection_point",
            f"{source!r} is not a collection point registered for {table.name} (CORP-1.1)",
        )
    return source
