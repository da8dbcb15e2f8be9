"""Read the records a completion ``source:`` says are closed, from the SQL system itself.

:class:`SourceReader` opens the system's declared url (``DOORSTEP_SYSTEM_URLS``
applied; the password from the encrypted credentials) without keeping a pool —
a scan runs every ten minutes, not per task — and reads, in one short statement
per page, the key, ``at`` and subject columns of the source's table only: a row
is closed when its ``at`` is set and not after ``until`` (naive UTC: a date
compares as that day's midnight) and not before ``since``; rows come ordered by
``(at, key)``, after the ``(at, key)`` of the previous page when given.  The
connection and the statement are bounded by the system's ``timeout_seconds``.
Failures are :class:`~doorstep.privacy.connectors.base.ConnectorError` with a
short reason (``timeout``, ``unreachable``, ``schema``, ``failed``), naming the
system only.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import DBAPIError, OperationalError, SQLAlchemyError
from sqlalchemy.pool import NullPool

from doorstep.privacy.connectors.base import ConnectorError, ConnectorTimeout
from doorstep.privacy.connectors.sql import engine_url
from doorstep.privacy.datamap.systems import CompletionSource, ConnectedSystem

#: A closed record: its key, its ``at`` value as the system holds it, its subject column.
Row = tuple[str, Any, str | None]


def _connect_args(system: ConnectedSystem, driver: str) -> dict[str, Any]:
    seconds = max(1, int(system.timeout_seconds))
    if driver.startswith("postgresql"):
        millis = int(system.timeout_seconds * 1000)
        return {"connect_timeout": seconds, "options": f"-c statement_timeout={millis}"}
    return {"connect_timeout": seconds, "read_timeout": seconds, "write_timeout": seconds}


class SourceReader:
    """Pages of closed records of one system's source (see the module docstring)."""

    def __init__(self, system: ConnectedSystem, source: CompletionSource, password: str | None):
        self.system = system
        self.source = source
        url = engine_url(system, password)
        self._engine = sa.create_engine(
            url, poolclass=NullPool, connect_args=_connect_args(system, url.drivername)
        )
        names = [source.key, source.at, *([source.subject] if source.subject else [])]
        self._names = list(dict.fromkeys(names))
        self._table = sa.table(source.table, *(sa.column(name) for name in self._names))

    def close(self) -> None:
        """Release the connection."""
        self._engine.dispose()

    def page(
        self,
        *,
        until: datetime,
        since: datetime | None = None,
        after: tuple[Any, str] | None = None,
        limit: int = 500,
    ) -> list[Row]:
        """Up to ``limit`` closed records, ordered by ``(at, key)``."""
        source, table = self.source, self._table
        at, key = table.c[source.at], table.c[source.key]
        subject = table.c[source.subject] if source.subject else sa.null()
        query = sa.select(key, at, subject).where(at.is_not(None), key.is_not(None), at <= until)
        if since is not None:
            query = query.where(at >= since)
        if after is not None:
            query = query.where(sa.or_(at > after[0], sa.and_(at == after[0], key > after[1])))
        query = query.order_by(at, key).limit(limit)
        try:
            with self._engine.connect() as connection:
                rows = connection.execute(query).all()
        except DBAPIError as exc:
            text = str(exc.orig).lower()
            if "timeout" in text or "canceling statement" in text or "timed out" in text:
                raise ConnectorTimeout(f"system {self.system.key}: timed out") from None
            if isinstance(exc, OperationalError):
                raise ConnectorError(
                    f"system {self.system.key}: unreachable", reason="unreachable"
                ) from None
            raise ConnectorError(
                f"system {self.system.key}: the source does not fit its schema", reason="schema"
            ) from None
        except SQLAlchemyError:
            raise ConnectorError(f"system {self.system.key}: failed", reason="failed") from None
        return [(str(row[0]), row[1], None if row[2] is None else str(row[2])) for row in rows]
