"""Shared fixtures: a real PostgreSQL per test process, built by the migrations.

* ``DOORSTEP_TEST_DATABASE_URL`` set: that server is used (CI here: the system
  PostgreSQL); otherwise an embedded server runs in ``.test-pg/`` and is shared
  by every test process.
* Each pytest-xdist worker gets its own database (``doorstep_test_<worker>``),
  dropped and rebuilt by the migrations at the start of the run.
* ``db`` gives each test a session inside a transaction that is rolled back at
  the end (commits inside the test become SAVEPOINT releases), so tests never
  see each other's rows.
* ``committed`` is for tests that need real commits (workers, other processes);
  it empties the tables afterwards.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

import doorstep.wiring  # noqa: F401  (the composition root: the whole schema, every task)
from doorstep.core import migrations
from doorstep.core.clock import FakeClock
from doorstep.core.database import (
    CLOCK_KEY,
    create_db_engine,
    drop_databases,
    libpq_url,
    recreate_database,
)
from doorstep.core.runtime import Runtime
from doorstep.core.settings import Settings, load_settings

ROOT = Path(__file__).resolve().parents[1]


def _worker_id() -> str:
    """A name unique to this test process *and* this run, so concurrent runs never collide."""
    run = os.environ.get("PYTEST_XDIST_TESTRUNUID", "")[:8] or f"p{os.getpid()}"
    return f"{run}_{os.environ.get('PYTEST_XDIST_WORKER', 'main')}"


@pytest.fixture(scope="session")
def server_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A libpq URL to a maintenance database on the test server."""
    url = os.environ.get("DOORSTEP_TEST_DATABASE_URL")
    if url:
        return libpq_url(url)
    from doorstep.core.embedded import start_embedded

    return libpq_url(start_embedded(ROOT / ".test-pg", database="doorstep_test_admin"))


def fresh_database(server_url: str, name: str) -> str:
    """Drop and create database ``name`` on the test server; return its URL."""
    return recreate_database(server_url, name)


def drop_test_databases(server_url: str) -> None:
    """Drop every database this test process created."""
    with psycopg.connect(server_url, autocommit=True) as connection:
        names = connection.execute(
            "SELECT datname FROM pg_database WHERE datname LIKE %s",
            (f"doorstep_test_{_worker_id()}%",),
        ).fetchall()
    drop_databases(server_url, [name for (name,) in names])


@pytest.fixture(scope="session")
def database_url(server_url: str) -> Iterator[str]:
    """This test process's own database, migrated to head; dropped at the end of the run."""
    url = fresh_database(server_url, f"doorstep_test_{_worker_id()}")
    engine = create_db_engine(url, pool_size=2)
    migrations.upgrade(engine)
    engine.dispose()
    yield url
    drop_test_databases(server_url)


@pytest.fixture(scope="session")
def engine(database_url: str) -> Iterator[Engine]:
    """The engine of this process's test database."""
    engine = create_db_engine(database_url, pool_size=5, application_name="doorstep-tests")
    yield engine
    engine.dispose()


@pytest.fixture
def settings(tmp_path: Path, database_url: str) -> Settings:
    """Test settings pointing at this process's database."""
    return load_settings(env="test", database_url=database_url, data_dir=tmp_path / "data")


def database_url_of(settings: Settings) -> str:
    """The configured database URL of test settings (always set in tests)."""
    assert settings.database_url is not None
    return settings.database_url.get_secret_value()


@pytest.fixture
def clock() -> FakeClock:
    """A clock that only moves when the test moves it."""
    return FakeClock()


@pytest.fixture
def connection(engine: Engine) -> Iterator[sa.Connection]:
    """A connection inside a transaction that is rolled back after the test."""
    with engine.connect() as connection:
        outer = connection.begin()
        yield connection
        if outer.is_active:
            outer.rollback()


@pytest.fixture
def sessions(connection: sa.Connection, clock: FakeClock) -> sessionmaker[Session]:
    """Sessions bound to the rolled-back connection; their commits are savepoints.

    They carry the test's fake clock, so audit events are dated by it.
    """
    return sessionmaker(
        bind=connection,
        join_transaction_mode="create_savepoint",
        expire_on_commit=False,
        info={CLOCK_KEY: clock},
    )


@pytest.fixture
def db(sessions: sessionmaker[Session]) -> Iterator[Session]:
    """A session whose work disappears when the test ends."""
    with sessions() as session:
        yield session


@pytest.fixture
def runtime(
    settings: Settings, engine: Engine, sessions: sessionmaker[Session], clock: FakeClock
) -> Runtime:
    """A runtime whose sessions live in the test's rolled-back transaction."""
    return Runtime(
        settings=settings,
        database_url=database_url_of(settings),
        engine=engine,
        sessions=sessions,
        clock=clock,
    )


QUEUE_TABLES = ("procrastinate_jobs", "procrastinate_periodic_defers", "procrastinate_workers")


def empty_all_tables(engine: Engine) -> None:
    """Empty every table, append-only ones included (their triggers are bypassed)."""
    from doorstep.schema import metadata

    tables = ", ".join(f'"{name}"' for name in (*metadata.tables, *QUEUE_TABLES))
    with engine.begin() as connection:
        # replica mode skips the append-only triggers; tests run as a superuser.
        connection.execute(sa.text("SET LOCAL session_replication_role = replica"))
        connection.execute(sa.text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))


@pytest.fixture
def committed(settings: Settings, engine: Engine, clock: FakeClock) -> Iterator[Runtime]:
    """A runtime with real commits; every table is emptied afterwards."""
    from doorstep.core.database import make_session_factory

    runtime = Runtime(
        settings=settings,
        database_url=database_url_of(settings),
        engine=engine,
        sessions=make_session_factory(engine, clock),
        clock=clock,
    )
    yield runtime
    empty_all_tables(engine)
