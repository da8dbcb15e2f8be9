"""Bulk loading: keys, unique and foreign-key constraints and indexes built after the rows.

Contract: :func:`drop_indexes` drops the primary keys, unique constraints, indexes
and foreign keys of ``tables`` (and the foreign keys that point at them); :func:`restore`
creates every one of them again from the definitions the
catalogue gave (``pg_get_constraintdef``, ``pg_get_indexdef``): same names, same
columns, same predicates.  Re-adding a foreign key or a unique index checks every row,
so the loaded data is proven to respect them.  Building a B-tree from sorted input is
many times faster than inserting a million random UUIDs into one.  If loading fails in
between, nothing is restored: the caller drops the half-built database.
"""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.engine import Connection

_CONSTRAINTS = """
SELECT conrelid::regclass::text, conname, pg_get_constraintdef(oid)
  FROM pg_constraint
 WHERE contype IN ('p', 'u', 'f')
   AND (conrelid::regclass::text = ANY(:tables)
        OR (contype = 'f' AND confrelid::regclass::text = ANY(:tables)))
 ORDER BY contype = 'f' DESC, conname
"""
_INDEXES = """
SELECT indexrelid::regclass::text, pg_get_indexdef(indexrelid)
  FROM pg_index i
 WHERE indrelid::regclass::text = ANY(:tables)
   AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = i.indexrelid)
 ORDER BY 1
"""


@dataclass(frozen=True)
class Dropped:
    """What :func:`drop_indexes` removed: ``(table, name, definition)`` and index definitions."""

    constraints: list[tuple[str, str, str]]
    indexes: list[str]


def drop_indexes(connection: Connection, tables: list[str]) -> Dropped:
    """Drop the keys, indexes and foreign keys of ``tables``; return what :func:`restore` needs."""
    constraints = [
        (str(table), str(name), str(definition))
        for table, name, definition in connection.execute(sa.text(_CONSTRAINTS), {"tables": tables})
    ]
    indexes = connection.execute(sa.text(_INDEXES), {"tables": tables}).all()
    for table, name, _ in constraints:  # foreign keys come first: nothing depends on them
        connection.exec_driver_sql(f'ALTER TABLE {table} DROP CONSTRAINT "{name}"')
    for name, _ in indexes:
        connection.exec_driver_sql(f"DROP INDEX {name}")
    connection.commit()
    return Dropped(constraints, [str(definition) for _, definition in indexes])


def restore(connection: Connection, dropped: Dropped) -> None:
    """Build the indexes, then the keys, then the foreign keys again (each checks every row)."""
    for definition in dropped.indexes:
        connection.exec_driver_sql(definition)
    for table, name, definition in reversed(dropped.constraints):
        connection.exec_driver_sql(f'ALTER TABLE {table} ADD CONSTRAINT "{name}" {definition}')
    connection.commit()
