"""The SQL connector: a connected system's tables, read and erased through a declared mapping.

The pack maps each table of the system (``systems.yaml``, ``tables:``) to the
key column of each identifier and to the columns that are its data elements;
nothing else of the system's schema is ever read.  PostgreSQL (psycopg) and
MariaDB/MySQL (PyMySQL) are reached through SQLAlchemy at the *declared* url
only; the password, when there is one, comes from the encrypted credentials
(:mod:`.credentials`) and is never logged (SQLAlchemy masks it in the URL).

* :meth:`SqlConnector.find` counts the subject's rows;
* :meth:`SqlConnector.export` reads the declared columns of those rows;
* :meth:`SqlConnector.erase` deletes them (``erase: delete``) or sets every
  declared column and every identifying key column to NULL (``erase:
  anonymise``, which keeps the row, e.g. an order kept for the accounts), for
  every table in one transaction of the system: a failure leaves the system as
  it was.  Running it again changes nothing more.

Time: the connection and every statement are bounded by the system's
``timeout_seconds`` (PostgreSQL ``statement_timeout``, PyMySQL read and write
timeouts); a timeout is :class:`~.base.ConnectorTimeout`.
"""

from __future__ import annotations

import datetime as _dt
import decimal
import uuid
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import URL, Engine, make_url
from sqlalchemy.exc import DBAPIError, SQLAlchemyError
from sqlalchemy.pool import NullPool

from doorstep.privacy.connectors.base import (
    Confirmation,
    ConnectorError,
    ConnectorTimeout,
    Identifiers,
    Outcome,
)
from doorstep.privacy.datamap.systems import ConnectedSystem, EraseMode, Identifier, SqlTable

#: Identifiers whose key columns are personal: anonymisation clears them too.
_PERSONAL_KEYS = frozenset({Identifier.EMAIL, Identifier.PHONE, Identifier.ACCOUNT_ID})
_DRIVERS = {
    "postgresql": "postgresql+psycopg",
    "mysql": "mysql+pymysql",
    "mariadb": "mysql+pymysql",
}


def engine_url(system: ConnectedSystem, password: str | None = None) -> URL:
    """The SQLAlchemy URL of the system's declared url, with the stored password if any."""
    declared = make_url(system.url)
    scheme = declared.drivername.split("+", 1)[0]
    if scheme not in _DRIVERS:
        raise ConnectorError(f"system {system.key}: unsupported url scheme", reason="config")
    url = declared.set(drivername=_DRIVERS[scheme])
    return url.set(password=password) if password else url


def _connect_args(system: ConnectedSystem, driver: str) -> dict[str, Any]:
    seconds = system.timeout_seconds
    millis = int(seconds * 1000)
    if driver.startswith("postgresql"):
        return {
            "connect_timeout": max(1, int(seconds)),
            "options": f"-c statement_timeout={millis} -c lock_timeout={millis}",
        }
    return {
        "connect_timeout": max(1, int(seconds)),
        "read_timeout": max(1, int(seconds)),
        "write_timeout": max(1, int(seconds)),
        "charset": "utf8mb4",
    }


def _json(value: Any) -> Any:
    """A value of the system as JSON (times as ISO text, decimals and ids as text)."""
    if isinstance(value, _dt.datetime | _dt.date | _dt.time):
        return value.isoformat()
    if isinstance(value, decimal.Decimal | uuid.UUID):
        return str(value)
    if isinstance(value, bytes | bytearray | memoryview):
        return bytes(value).hex()
    return value


def _is_timeout(exc: DBAPIError) -> bool:
    orig = exc.orig
    name = type(orig).__name__ if orig is not None else ""
    code = orig.args[0] if orig is not None and orig.args else None
    # psycopg: QueryCanceled / LockNotAvailable; PyMySQL: 2013 lost connection during query,
    # 1969 max_statement_time exceeded, 3024 query execution interrupted
    return (
        name in {"QueryCanceled", "LockNotAvailable"}
        or code in {2013, 1969, 3024}
        or ("timeout" in str(orig).lower() or "timed out" in str(orig).lower())
    )


class SqlConnector:
    """The connector of one ``kind: sql`` system (see the module docstring)."""

    def __init__(
        self, system: ConnectedSystem, *, password: str | None = None, engine: Engine | None = None
    ) -> None:
        self.system = system
        url = engine_url(system, password)
        self._engine = engine or sa.create_engine(
            url,
            poolclass=NullPool,
            connect_args=_connect_args(system, url.drivername),
        )
        self._tables = {
            table.name: sa.table(
                table.name,
                *(sa.column(name) for name in {*table.columns, *table.keys.values()}),
            )
            for table in system.tables
        }

    def close(self) -> None:
        """Release the connections (none are kept between operations)."""
        self._engine.dispose()

    def _where(self, table: SqlTable, identifiers: Identifiers) -> sa.ColumnElement[bool] | None:
        mapped = self._tables[table.name]
        tests = [
            mapped.c[column].in_(list(identifiers.values[kind]))
            for kind, column in table.keys.items()
            if identifiers.values.get(kind)
        ]
        return sa.or_(*tests) if tests else None

    def _guarded(self, work: Any) -> Any:
        """Run ``work(connection)`` in one transaction; map the driver's errors to reasons."""
        try:
            with self._engine.begin() as connection:
                return work(connection)
        except DBAPIError as exc:
            if _is_timeout(exc):
                raise ConnectorTimeout(f"system {self.system.key}: timed out") from None
            if exc.connection_invalidated or isinstance(exc, sa.exc.OperationalError):
                raise ConnectorError(
                    f"system {self.system.key}: unreachable or dropped", reason="unreachable"
                ) from None
            raise ConnectorError(
                f"system {self.system.key}: the mapping does not fit its schema", reason="schema"
            ) from None
        except SQLAlchemyError:
            raise ConnectorError(f"system {self.system.key}: failed", reason="failed") from None

    def find(self, identifiers: Identifiers) -> Confirmation:
        """Count the subject's rows in every mapped table."""
        mine = identifiers.for_system(self.system)

        def work(connection: sa.Connection) -> int:
            total = 0
            for table in self.system.tables:
                where = self._where(table, mine)
                if where is not None:
                    query = (
                        sa.select(sa.func.count())
                        .select_from(self._tables[table.name])
                        .where(where)
                    )
                    total += int(connection.execute(query).scalar_one())
            return total

        rows = self._guarded(work) if mine else 0
        return Confirmation(self.system.key, Outcome.FOUND if rows else Outcome.NOT_FOUND, rows)

    def export(self, identifiers: Identifiers) -> Confirmation:
        """The declared columns of the subject's rows, as element key -> values (row order)."""
        mine = identifiers.for_system(self.system)

        def work(connection: sa.Connection) -> tuple[int, dict[str, list[Any]]]:
            data: dict[str, list[Any]] = {}
            rows = 0
            for table in self.system.tables:
                where = self._where(table, mine)
                if where is None:
                    continue
                mapped = self._tables[table.name]
                query = sa.select(*(mapped.c[name] for name in table.columns)).where(where)
                for row in connection.execute(query):
                    rows += 1
                    for name, value in zip(table.columns, row, strict=True):
                        data.setdefault(f"{table.name}.{name}", []).append(_json(value))
            return rows, data

        rows, data = self._guarded(work) if mine else (0, {})
        if not rows:
            return Confirmation(self.system.key, Outcome.NOT_FOUND)
        return Confirmation(self.system.key, Outcome.EXPORTED, rows, data)

    def erase(self, identifiers: Identifiers) -> Confirmation:
        """Delete or anonymise the subject's rows of every table, in one transaction."""
        mine = identifiers.for_system(self.system)

        def work(connection: sa.Connection) -> int:
            changed = 0
            for table in self.system.tables:
                where = self._where(table, mine)
                if where is None:
                    continue
                mapped = self._tables[table.name]
                if table.erase is EraseMode.DELETE:
                    changed += connection.execute(sa.delete(mapped).where(where)).rowcount
                    continue
                cleared = dict.fromkeys(table.columns)
                cleared |= {
                    column: None for kind, column in table.keys.items() if kind in _PERSONAL_KEYS
                }
                changed += connection.execute(
                    sa.update(mapped).where(where).values(cleared)
                ).rowcount
            return changed

        rows = self._guarded(work) if mine else 0
        return Confirmation(self.system.key, Outcome.ERASED if rows else Outcome.NOT_FOUND, rows)
