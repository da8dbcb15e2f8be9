"""Run Alembic migrations safely, from code.

Migrations run on one connection under a PostgreSQL advisory lock, so two
processes starting at once (say, several ``serve`` replicas) apply them once;
each statement runs with a ``lock_timeout`` so a migration waiting behind a
long transaction fails fast instead of stalling every query behind it.
"""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Connection, Engine

MIGRATIONS_DIR = Path(__file__).resolve().parents[1] / "migrations"
#: Arbitrary constant identifying Doorstep's migration lock (pg_advisory_lock key).
ADVISORY_LOCK_KEY = 0x444F4F52  # "DOOR"


def alembic_config(connection: Connection | None = None) -> Config:
    """An Alembic config pointing at Doorstep's migrations, bound to ``connection``."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.attributes["connection"] = connection
    return config


def head_revision() -> str:
    """The newest revision in the code."""
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert head is not None
    return head


def current_revision(engine: Engine) -> str | None:
    """The revision the database is at (None when never migrated).

    Reads ``alembic_version`` directly: this runs on every readiness probe, and
    Alembic's MigrationContext would log two lines each time.
    """
    with engine.connect() as connection:
        exists = connection.execute(sa.text("SELECT to_regclass('alembic_version')")).scalar()
        if exists is None:
            return None
        return connection.execute(sa.text("SELECT version_num FROM alembic_version")).scalar()


def is_current(engine: Engine) -> bool:
    """True when the database is at the code's head revision."""
    return current_revision(engine) == head_revision()


def _run(engine: Engine, lock_timeout_ms: int, action: str, revision: str) -> None:
    with engine.connect() as connection:
        connection.execute(sa.text("SELECT pg_advisory_lock(:key)"), {"key": ADVISORY_LOCK_KEY})
        try:
            connection.execute(sa.text(f"SET lock_timeout = {int(lock_timeout_ms)}"))
            connection.commit()
            config = alembic_config(connection)
            if action == "upgrade":
                command.upgrade(config, revision)
            else:
                command.downgrade(config, revision)
            connection.commit()
        finally:
            connection.execute(
                sa.text("SELECT pg_advisory_unlock(:key)"), {"key": ADVISORY_LOCK_KEY}
            )
            connection.commit()


def upgrade(engine: Engine, revision: str = "head", *, lock_timeout_ms: int = 5_000) -> None:
    """Migrate up to ``revision`` (default: head)."""
    _run(engine, lock_timeout_ms, "upgrade", revision)


def downgrade(engine: Engine, revision: str, *, lock_timeout_ms: int = 5_000) -> None:
    """Migrate down to ``revision`` (``base`` removes everything)."""
    _run(engine, lock_timeout_ms, "downgrade", revision)


def all_revisions() -> list[str]:
    """Every revision id, oldest first."""
    script = ScriptDirectory.from_config(alembic_config())
    return [rev.revision for rev in reversed(list(script.walk_revisions()))]
