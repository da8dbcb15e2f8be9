"""A sweep in a process of its own, so a test can kill it with SIGKILL mid-run.

    python -m tests.retention.sweeper DATABASE_URL INSTANT BATCH_SIZE PAUSE_SECONDS

Sweeps the scratch device schema at the fake instant ``INSTANT`` (ISO 8601),
pausing after each committed batch so the parent can pick its moment.
"""

from __future__ import annotations

import sys
import time
from datetime import datetime

from doorstep.core.clock import FakeClock
from doorstep.core.database import create_db_engine, make_session_factory
from doorstep.core.runtime import Runtime
from doorstep.core.settings import load_settings
from doorstep.privacy.retention.sweep import run_sweeps
from tests.retention.conftest import device_schema, scratch_targets


def main(url: str, instant: str, batch_size: int, pause: float) -> None:
    """Sweep until done (or killed)."""
    clock = FakeClock(datetime.fromisoformat(instant))
    engine = create_db_engine(url, pool_size=1, application_name="doorstep-test-sweeper")
    settings = load_settings(env="test", database_url=url)
    runtime = Runtime(settings, url, engine, make_session_factory(engine, clock), clock)
    print("ready", flush=True)
    run_sweeps(
        runtime,
        scratch_targets(device_schema(), runtime),
        batch_size=batch_size,
        on_batch=lambda *_: time.sleep(pause),
    )
    print("done", flush=True)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], int(sys.argv[3]), float(sys.argv[4]))
