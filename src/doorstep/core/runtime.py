"""What a running Doorstep process holds: settings, database, clock.

A :class:`Runtime` is built once per process by :func:`open_runtime` and handed
to the ASGI app, the worker and the CLI; nothing reaches for globals.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field

from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

from doorstep.core.clock import Clock, SystemClock
from doorstep.core.database import check_database, create_db_engine, make_session_factory
from doorstep.core.embedded import data_dir_lock, start_embedded
from doorstep.core.settings import Settings


@dataclass
class Runtime:
    """The shared handles of one process.  ``database_url`` is a libpq URL."""

    settings: Settings
    database_url: str
    engine: Engine
    sessions: sessionmaker[Session]
    clock: Clock = field(default_factory=SystemClock)


def resolve_database_url(settings: Settings, stack: ExitStack) -> str:
    """The configured URL, or start the embedded server (holding the data-dir lock)."""
    if settings.database_url is not None:
        return settings.database_url.get_secret_value()
    stack.enter_context(data_dir_lock(settings.data_dir))
    return start_embedded(settings.data_dir / "pg")


@contextmanager
def open_runtime(
    settings: Settings, *, clock: Clock | None = None, application_name: str = "doorstep"
) -> Iterator[Runtime]:
    """Connect (starting the embedded server if needed), check, yield, and clean up."""
    with ExitStack() as stack:
        url = resolve_database_url(settings, stack)
        engine = create_db_engine(
            url, pool_size=settings.db_pool_size, application_name=application_name
        )
        stack.callback(engine.dispose)
        check_database(engine)
        clock = clock or SystemClock()
        yield Runtime(
            settings=settings,
            database_url=url,
            engine=engine,
            sessions=make_session_factory(engine, clock),
            clock=clock,
        )
