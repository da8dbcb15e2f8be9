"""Engines, sessions and the few facts about database URLs everything needs.

Doorstep speaks to PostgreSQL only, through psycopg 3.  Services receive a
:class:`sqlalchemy.orm.Session` and never open connections of their own; the
caller owns the transaction.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import psycopg
import sqlalchemy as sa
from psycopg import sql as psql
from sqlalchemy.engine import URL, Engine, make_url
from sqlalchemy.orm import Session, sessionmaker

from doorstep.core.clock import Clock
from doorstep.core.errors import DatabaseUnavailableError, InvalidInputError

MINIMUM_SERVER_VERSION = 15


def sqlalchemy_url(url: str) -> URL:
    """Parse ``url`` and make it use the psycopg 3 driver.

    Accepts ``postgres://``, ``postgresql://`` and ``postgresql+psycopg://``.
    """
    try:
        parsed = make_url(url)
    except Exception:  # SQLAlchemy raises ArgumentError with the URL in it.
        raise InvalidInputError("the database URL cannot be parsed") from None
    if parsed.get_backend_name() not in {"postgresql", "postgres"}:
        raise InvalidInputError("the database URL must be a postgresql:// URL")
    return parsed.set(drivername="postgresql+psycopg")


def libpq_url(url: str) -> str:
    """The same database as a plain libpq URL (for psycopg and Procrastinate)."""
    return sqlalchemy_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def describe(url: str | URL) -> str:
    """``host:port/database`` of a URL, safe for messages: never user or password."""
    parsed = url if isinstance(url, URL) else make_url(url)
    host = parsed.host or str(parsed.query.get("host", "local socket"))
    port = f":{parsed.port}" if parsed.port else ""
    return f"{host}{port}/{parsed.database or ''}"


def create_db_engine(
    url: str, *, pool_size: int = 10, application_name: str = "doorstep"
) -> Engine:
    """An engine for ``url`` with UTC sessions and a bounded pool."""
    return sa.create_engine(
        sqlalchemy_url(url),
        pool_size=pool_size,
        max_overflow=pool_size,
        pool_pre_ping=True,
        connect_args={"application_name": application_name, "options": "-c timezone=UTC"},
    )


#: ``Session.info`` key of the clock that dates what the session records (audit events).
CLOCK_KEY = "doorstep.clock"


def make_session_factory(engine: Engine, clock: Clock | None = None) -> sessionmaker[Session]:
    """Sessions that keep loaded objects usable after commit (services return them).

    With ``clock``, every session carries it in ``info`` so that what it records
    (audit events) is dated by the process's clock, the fake one in tests.
    """
    info = {CLOCK_KEY: clock} if clock is not None else {}
    return sessionmaker(bind=engine, expire_on_commit=False, info=info)


def check_database(engine: Engine) -> int:
    """Connect once and return the server's major version.

    Raises :class:`DatabaseUnavailableError` naming only host, port and database
    when the server cannot be reached or is older than PostgreSQL 15.
    """
    where = describe(engine.url)
    try:
        with engine.connect() as connection:
            version = int(connection.execute(sa.text("SHOW server_version_num")).scalar_one())
    except sa.exc.OperationalError:
        raise DatabaseUnavailableError(f"cannot connect to PostgreSQL at {where}") from None
    major = version // 10_000
    if major < MINIMUM_SERVER_VERSION:
        raise DatabaseUnavailableError(
            f"PostgreSQL at {where} is version {major}; Doorstep needs "
            f"{MINIMUM_SERVER_VERSION} or newer"
        )
    return major


@contextmanager
def transaction(factory: sessionmaker[Session]) -> Iterator[Session]:
    """A session in one transaction: committed on success, rolled back on any error."""
    with factory() as session, session.begin():
        yield session


def _drop(connection: psycopg.Connection[tuple[object, ...]], name: str) -> None:
    connection.execute(
        psql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(psql.Identifier(name))
    )


def recreate_database(admin_url: str, name: str) -> str:
    """Drop database ``name`` if it exists, create it empty, and return its libpq URL.

    ``admin_url`` is any database on the same server (a maintenance database).
    For tests, benchmarks and tooling; never used on a production database.
    """
    with psycopg.connect(admin_url, autocommit=True) as connection:
        _drop(connection, name)
        connection.execute(psql.SQL("CREATE DATABASE {}").format(psql.Identifier(name)))
    return (
        sqlalchemy_url(admin_url)
        .set(database=name, drivername="postgresql")
        .render_as_string(hide_password=False)
    )


def drop_databases(admin_url: str, names: list[str]) -> None:
    """Drop each database in ``names`` that exists (connections to it are ended)."""
    with psycopg.connect(admin_url, autocommit=True) as connection:
        for name in names:
            _drop(connection, name)
