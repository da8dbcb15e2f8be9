"""Workers killed during the scan of the shop's completion source: each order recorded once.

The reference pack's shop, pointed at the demo shop's schema in a database of the
test's own, holds a few hundred orders whose after-sales period has ended.  A job
of the periodic scan (``doorstep.connectors.completion_sources``) is queued; real
``doorstep worker`` processes take it, five records a transaction, and the test
SIGKILLs each at a random moment (seeded: ``DOORSTEP_KILL_SEED`` replays a
failure) once it has committed a page, then lets a last one finish.  A killed
worker's page is rolled back by PostgreSQL and its job requeued; the next scan
starts again at the watermark.  At the end every closed order has exactly one
event and one ``completion.recorded`` audit entry, the open ones none, and no job
failed.
"""

from __future__ import annotations

import json
import os
import random
import signal
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg
import pytest
import sqlalchemy as sa

from doorstep.core.database import drop_databases
from doorstep.core.runtime import Runtime
from doorstep.demo_systems.shop import declared, open_shop
from doorstep.jobs.enqueue import enqueue
from doorstep.privacy.connectors.completions.tasks import SOURCES_TASK
from tests.conftest import database_url_of
from tests.workers import kill_at_random, start_worker, wait_until

SEED = int(os.environ.get("DOORSTEP_KILL_SEED", "20261214"))
KILLS = 6
CLOSED = 240
OPEN = 20


@pytest.fixture
def shop(server_url: str) -> Iterator[str]:
    name = f"doorstep_test_killshop_{os.environ.get('PYTEST_XDIST_WORKER', 'main')}"
    drop_databases(server_url, [name])
    try:
        url = open_shop(server_url, email="demo@example.org", phone="+4915100000001", database=name)
        with psycopg.connect(url, autocommit=True) as connection:
            connection.execute("DELETE FROM orders")
        yield url
    finally:
        drop_databases(server_url, [name])


def _recorded(runtime: Runtime) -> int:
    with runtime.engine.connect() as connection:
        return int(
            connection.execute(
                sa.text("SELECT count(*) FROM completion_events WHERE system = 'shop'")
            ).scalar_one()
        )


def _jobs(runtime: Runtime) -> dict[str, int]:
    with runtime.engine.connect() as connection:
        rows = connection.execute(
            sa.text(
                "SELECT status::text, count(*) FROM procrastinate_jobs "
                "WHERE task_name = :t GROUP BY status"
            ),
            {"t": SOURCES_TASK},
        )
        return {status: int(count) for status, count in rows}


@pytest.mark.slow
@pytest.mark.timeout(300)
def test_workers_killed_during_the_scan_record_every_closed_order_exactly_once(
    committed: Runtime, tmp_path: Path, shop: str
) -> None:
    rng = random.Random(SEED)
    today = datetime.now(tz=UTC).date()  # the workers read the system clock
    closed = {f"K-{n:04d}": today - timedelta(days=1 + n % 40) for n in range(CLOSED)}
    still_open = {f"L-{n:04d}": today + timedelta(days=1 + n) for n in range(OPEN)}
    with psycopg.connect(shop, autocommit=True) as connection, connection.cursor() as cursor:
        cursor.executemany(
            "INSERT INTO orders (order_number, email, name, after_sales_until) "
            "VALUES (%s, %s, 'N', %s)",
            [
                (key, f"{key.lower()}@example.org", day)
                for key, day in {**closed, **still_open}.items()
            ],
        )
    with committed.sessions.begin() as session:
        enqueue(session, SOURCES_TASK, timestamp=0)

    bare, _password = declared(shop)
    env = {
        **os.environ,
        "DOORSTEP_ENV": "test",
        "DOORSTEP_DATABASE_URL": database_url_of(committed.settings),
        "DOORSTEP_DATA_DIR": str(committed.settings.data_dir),
        "DOORSTEP_WORKER_HEARTBEAT_SECONDS": "0.2",
        "DOORSTEP_WORKER_STALLED_AFTER_SECONDS": "0.5",
        "DOORSTEP_SYSTEM_URLS": json.dumps({"shop": bare}),
        "DOORSTEP_REQUESTS_SYSTEMS": json.dumps(["shop"]),
        "DOORSTEP_COMPLETION_SOURCES_BATCH": "5",
    }
    log = tmp_path / "workers.log"
    interrupted = kill_at_random(
        committed,
        env,
        log,
        pending=lambda: CLOSED - _recorded(committed),
        kills=KILLS,
        rng=rng,
        after_progress=True,
        delay=(0.0, 0.2),
    )
    final = start_worker(env, log)
    try:
        assert wait_until(lambda: _recorded(committed) == CLOSED, 120), _recorded(committed)
        assert wait_until(lambda: set(_jobs(committed)) <= {"succeeded"}, 60), _jobs(committed)
    finally:
        final.send_signal(signal.SIGINT)
        final.wait(timeout=30)

    assert interrupted >= 1, "no kill landed in the middle of the scan"
    with committed.engine.connect() as connection:
        counts = dict(
            connection.execute(
                sa.text(
                    "SELECT record_id, count(*) FROM completion_events WHERE system = 'shop' "
                    "GROUP BY record_id"
                )
            ).all()
        )
        audited = connection.execute(
            sa.text("SELECT count(*) FROM audit_events WHERE action = 'completion.recorded'")
        ).scalar_one()
        watermark = connection.execute(
            sa.text("SELECT watermark FROM completion_sources WHERE system = 'shop'")
        ).scalar_one()
    assert counts == dict.fromkeys(closed, 1)  # every closed order once, no open one
    assert audited == CLOSED
    assert watermark.date() == max(closed.values())
