"""The migrations build exactly the schema the models describe, and every step reverses."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy.engine import Engine

from doorstep.core import migrations
from doorstep.core.database import create_db_engine
from doorstep.schema import metadata
from tests.conftest import _worker_id, fresh_database


@pytest.fixture
def scratch_engine(server_url: str) -> Engine:
    """An empty database of its own, so going down does not disturb other tests."""
    url = fresh_database(server_url, f"doorstep_test_{_worker_id()}_migrations")
    engine = create_db_engine(url, pool_size=1)
    yield engine  # type: ignore[misc]
    engine.dispose()


def _tables(engine: Engine) -> set[str]:
    return set(sa.inspect(engine).get_table_names())


def test_models_and_migrations_agree(engine: Engine) -> None:
    with engine.connect() as connection:
        context = MigrationContext.configure(
            connection,
            opts={
                "compare_type": True,
                "include_name": lambda name, kind, _parent: (
                    not (kind == "table" and str(name).startswith("procrastinate_"))
                ),
            },
        )
        differences = compare_metadata(context, metadata)
    assert differences == [], f"models and migrations differ: {differences}"


def test_every_migration_goes_up_and_down(scratch_engine: Engine) -> None:
    revisions = migrations.all_revisions()
    assert revisions, "there must be at least one migration"
    empty = _tables(scratch_engine)
    for revision in revisions:
        migrations.upgrade(scratch_engine, revision)
        assert migrations.current_revision(scratch_engine) == revision
    assert migrations.is_current(scratch_engine)
    at_head = _tables(scratch_engine)
    assert set(metadata.tables) <= at_head
    for previous in [*reversed(revisions[:-1]), "base"]:
        migrations.downgrade(scratch_engine, previous)
        expected = None if previous == "base" else previous
        assert migrations.current_revision(scratch_engine) == expected
    assert _tables(scratch_engine) - {"alembic_version"} == empty
    # and up again from nothing: a downgrade must leave no debris that breaks the upgrade
    migrations.upgrade(scratch_engine)
    assert _tables(scratch_engine) == at_head


def test_an_empty_database_is_not_current(scratch_engine: Engine) -> None:
    assert migrations.current_revision(scratch_engine) is None
    assert not migrations.is_current(scratch_engine)


def test_migrations_hold_an_advisory_lock(scratch_engine: Engine) -> None:
    """While another session holds the migration lock, a migration waits for it."""
    import threading

    with scratch_engine.connect() as holder:
        holder.execute(sa.text("SELECT pg_advisory_lock(:k)"), {"k": migrations.ADVISORY_LOCK_KEY})
        done = threading.Event()
        thread = threading.Thread(target=lambda: (migrations.upgrade(scratch_engine), done.set()))
        thread.start()
        assert not done.wait(1.0), "the migration ran although the lock was held"
        holder.execute(
            sa.text("SELECT pg_advisory_unlock(:k)"), {"k": migrations.ADVISORY_LOCK_KEY}
        )
        holder.commit()
        thread.join(30)
    assert done.is_set()
    assert migrations.is_current(scratch_engine)
