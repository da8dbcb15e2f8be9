"""The SQL connector: a connected system's tables, read and erased through a declared mapping.

The pack maps each table of the system (``systems.yaml``, ``tables:``) to the
key column of each identifier and to the columns that are its data elements;
nothing else of the system's schema is ever read.  PostgreSQL (psycopg) and
MariaDB/MySQL (PyMySQL) are reached through SQLAlchemy at the *declared* url
only; the password, when there is one, comes from the encrypted credentials
(:mod:`.credentials`) and is never logged (SQLAlchemy masks it in the URL).

* :meth:`SqlConnector.find` counts the subject's rows;
* :meth:`SqlConnector.export` reads the declared columns of those rows;
* :meth:`SqlConnector.many` does one operation for several subjects in one
  transaction of the system, each in a savepoint of its own: a subject whose
  statements fail is rolled back alone and answered with its error;
* :meth:`SqlConnector.erase` deletes them (``erase: delete``) or sets every
  declared column and every identifying key column to NULL (``erase:
  anonymise``, which keeps the row, e.g. an order kept for the accounts), for
  every table in one transaction of the system: a failure leaves the system as
  it was.  Running it again changes nothing more.

Time: the connection and every statement are bounded by the system's
``timeout_seconds`` (PostgreSQL ``statement_timeout``, PyMySQL read and write
timeouts); a timeout is :class:`~.base.ConnectorTimeout`.

Connections: a ``pooled`` connector (the one :mod:`.pool` shares among a process's
tasks) keeps a few open between operations, each checked before use; the
statements of each table and set of identifier kinds are built once and reused.
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
#: Connections a pooled connector keeps open per process (the worker runs 4 jobs at once
#: by default), how many more it opens under load, and after how long one is renewed.
POOL_SIZE = 4
POOL_OVERFLOW = 8
POOL_RECYCLE_SECONDS = 300
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
            # no server-side prepared statements on a connection that lives long: an
            # operator's ALTER TABLE must not leave a stale plan failing every task
            "prepare_threshold": None,
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


def _subject_error(system: ConnectedSystem, exc: DBAPIError) -> ConnectorError:
    """The error of one subject's part whose savepoint was rolled back."""
    if _is_timeout(exc):
        return ConnectorTimeout(f"system {system.key}: timed out")
    return ConnectorError(
        f"system {system.key}: the mapping does not fit its schema", reason="schema"
    )


def _engine(system: ConnectedSystem, url: URL, *, pooled: bool) -> Engine:
    """An engine on ``url``: without a pool, or (``pooled``) with a small one that checks
    a connection before handing it out, so a restarted system costs no failed attempt."""
    connect_args = _connect_args(system, url.drivername)
    if not pooled:
        return sa.create_engine(url, poolclass=NullPool, connect_args=connect_args)
    return sa.create_engine(
        url,
        connect_args=connect_args,
        pool_size=POOL_SIZE,
        max_overflow=POOL_OVERFLOW,
        pool_timeout=system.timeout_seconds,
        pool_pre_ping=True,
        pool_recycle=POOL_RECYCLE_SECONDS,
    )


class SqlConnector:
    """The connector of one ``kind: sql`` system (see the module docstring).

    ``pooled``: keep up to :data:`POOL_SIZE` connections open between operations
    (the connector pool, :mod:`.pool`, shares one such connector among every task
    of the system in a process); :meth:`close` then keeps them and :meth:`dispose`
    releases them.  Otherwise no connection outlives an operation.
    """

    def __init__(
        self,
        system: ConnectedSystem,
        *,
        password: str | None = None,
        engine: Engine | None = None,
        pooled: bool = False,
    ) -> None:
        self.system = system
        url = engine_url(system, password)
        self._engine = engine or _engine(system, url, pooled=pooled)
        self._pooled = pooled
        self._tables = {
            table.name: sa.table(
                table.name,
                *(sa.column(name) for name in {*table.columns, *table.keys.values()}),
            )
            for table in system.tables
        }
        self._statements: dict[tuple[str, str, tuple[Identifier, ...]], sa.Executable] = {}

    def close(self) -> None:
        """Done with this task: release the connections unless the connector is pooled."""
        if not self._pooled:
            self._engine.dispose()

    def dispose(self, *, close: bool = True) -> None:
        """Release every connection, pooled or not (the pool retiring this connector);
        ``close=False`` in a forked child, whose copies of the parent's connections
        must be dropped without telling the server."""
        self._engine.dispose(close=close)

    def _where(self, table: SqlTable, identifiers: Identifiers) -> sa.ColumnElement[bool] | None:
        """A one-off filter of ``table``'s rows of the subject (the calls below reuse
        cached statements instead, :meth:`_statement`)."""
        mapped = self._tables[table.name]
        tests = [
            mapped.c[column].in_(list(identifiers.values[kind]))
            for kind, column in table.keys.items()
            if identifiers.values.get(kind)
        ]
        return sa.or_(*tests) if tests else None

    def _statement(
        self, operation: str, table: SqlTable, identifiers: Identifiers
    ) -> tuple[sa.Executable, dict[str, list[str]]] | None:
        """The statement of ``operation`` on ``table`` for the identifier kinds present
        (built once per kinds and reused: one bound list per kind) and its parameters."""
        kinds = tuple(kind for kind in table.keys if identifiers.values.get(kind))
        if not kinds:
            return None
        params = {f"k_{kind.value}": list(identifiers.values[kind]) for kind in kinds}
        cached = (operation, table.name, kinds)
        made = self._statements.get(cached)
        if made is None:
            made = self._build(operation, table, kinds)
            self._statements[cached] = made  # a race builds the same statement twice
        return made, params

    def _build(
        self, operation: str, table: SqlTable, kinds: tuple[Identifier, ...]
    ) -> sa.Executable:
        mapped = self._tables[table.name]
        where = sa.or_(
            *(
                mapped.c[table.keys[kind]].in_(sa.bindparam(f"k_{kind.value}", expanding=True))
                for kind in kinds
            )
        )
        if operation == "find":
            return sa.select(sa.func.count()).select_from(mapped).where(where)
        if operation == "export":
            return sa.select(*(mapped.c[name] for name in table.columns)).where(where)
        if table.erase is EraseMode.DELETE:
            return sa.delete(mapped).where(where)
        cleared = dict.fromkeys(table.columns)
        cleared |= {column: None for kind, column in table.keys.items() if kind in _PERSONAL_KEYS}
        return sa.update(mapped).where(where).values(cleared)

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
                found = self._statement("find", table, mine)
                if found is not None:
                    total += int(connection.execute(*found).scalar_one())
            return total

        rows = self._guarded(work) if mine else 0
        return Confirmation(self.system.key, Outcome.FOUND if rows else Outcome.NOT_FOUND, rows)

    def export(self, identifiers: Identifiers) -> Confirmation:
        """The declared columns of the subject's rows, as element key -> values (row order)."""
        mine = identifiers.for_system(self.system)

        rows, data = (
            self._guarded(lambda connection: self._export_rows(connection, mine))
            if mine
            else (0, {})
        )
        if not rows:
            return Confirmation(self.system.key, Outcome.NOT_FOUND)
        return Confirmation(self.system.key, Outcome.EXPORTED, rows, data)

    def _export_rows(
        self, connection: sa.Connection, mine: Identifiers
    ) -> tuple[int, dict[str, list[Any]]]:
        data: dict[str, list[Any]] = {}
        rows = 0
        for table in self.system.tables:
            found = self._statement("export", table, mine)
            if found is None:
                continue
            for row in connection.execute(*found):
                rows += 1
                for name, value in zip(table.columns, row, strict=True):
                    data.setdefault(f"{table.name}.{name}", []).append(_json(value))
        return rows, data

    def _erase_rows(self, connection: sa.Connection, mine: Identifiers) -> int:
        changed = 0
        for table in self.system.tables:
            found = self._statement("erase", table, mine)
            if found is not None:
                changed += connection.execute(*found).rowcount
        return changed

    def _answer(self, operation: str, connection: sa.Connection, mine: Identifiers) -> Confirmation:
        if not mine:
            return Confirmation(self.system.key, Outcome.NOT_FOUND)
        if operation == "erasure":
            rows = self._erase_rows(connection, mine)
            return Confirmation(
                self.system.key, Outcome.ERASED if rows else Outcome.NOT_FOUND, rows
            )
        count, data = self._export_rows(connection, mine)
        if not count:
            return Confirmation(self.system.key, Outcome.NOT_FOUND)
        return Confirmation(self.system.key, Outcome.EXPORTED, count, data)

    def erase(self, identifiers: Identifiers) -> Confirmation:
        """Delete or anonymise the subject's rows of every table, in one transaction."""
        mine = identifiers.for_system(self.system)
        rows = self._guarded(lambda connection: self._erase_rows(connection, mine)) if mine else 0
        return Confirmation(self.system.key, Outcome.ERASED if rows else Outcome.NOT_FOUND, rows)

    def many(
        self, operation: str, subjects: list[Identifiers]
    ) -> list[Confirmation | ConnectorError]:
        """``operation`` (``access`` or ``erasure``) for each of ``subjects``, in one
        transaction of the system with a savepoint per subject; each subject's answer, or
        the error that rolled back its part alone.  A failure of the transaction itself
        (the system unreachable, the commit refused) is every subject's error."""

        def work(connection: sa.Connection) -> list[Confirmation | ConnectorError]:
            answers: list[Confirmation | ConnectorError] = []
            for identifiers in subjects:
                mine = identifiers.for_system(self.system)
                try:
                    with connection.begin_nested():
                        answers.append(self._answer(operation, connection, mine))
                except DBAPIError as exc:
                    if exc.connection_invalidated:
                        raise
                    answers.append(_subject_error(self.system, exc))
            return answers

        try:
            return list(self._guarded(work))
        except ConnectorError as exc:
            return [exc] * len(subjects)
