"""Workers killed at random points during a fan-out: every system's part is done exactly once.

Deletion requests fan out to a shop (PostgreSQL), a newsletter service (HTTP on
loopback, answering a little slowly so that kills land mid-call) and a manual
ticket system.  Real ``doorstep worker`` processes take the jobs; the test
SIGKILLs each at a random moment (seeded) and starts another, then lets a last
one finish.  At the end every automated system settled each task once (one
audit event), the newsletter erased each subscriber once under the task's one
idempotency key, the shop anonymised each customer's orders and deleted their
payments and nothing of another customer, and once the desk records the manual
tasks every request is completed exactly once with one message.
"""

from __future__ import annotations

import json
import os
import random
import signal
import time
import uuid
from pathlib import Path

import pytest
import sqlalchemy as sa

from doorstep.core.runtime import Runtime
from doorstep.core.settings import load_settings
from doorstep.privacy.connectors.credentials import set_secret
from doorstep.privacy.requests import services as svc
from doorstep.privacy.requests.context import RequestContext
from doorstep.privacy.requests.fulfil import approve
from doorstep.privacy.requests.systems import desk
from doorstep.wiring import build_services
from tests.conftest import database_url_of
from tests.connectors.conftest import (
    SECRET,
    SHOP_SCHEMA,
    TEST_SYSTEMS,
    pg_declared,
    run_sql,
    systems_yaml,
    write_pack,
)
from tests.connectors.loopback import Newsletter, Service
from tests.requests.conftest import STAFF, new_account
from tests.workers import newest_worker, start_worker, wait_until

SEED = int(os.environ.get("DOORSTEP_KILL_SEED", "20261207"))
KILLS = 8
REQUESTS = 6
TASKS = ("requests.systems_run", "requests.erase")


def _jobs(runtime: Runtime) -> dict[str, int]:
    with runtime.engine.connect() as connection:
        rows = connection.execute(
            sa.text(
                "SELECT status::text, count(*) FROM procrastinate_jobs "
                "WHERE task_name = ANY(:t) GROUP BY status"
            ),
            {"t": list(TASKS)},
        )
        return {status: int(count) for status, count in rows}


@pytest.mark.slow
@pytest.mark.timeout(300)
@pytest.mark.clause("CPE-V.3.a")
def test_workers_killed_during_a_fan_out_leave_every_system_done_exactly_once(
    committed: Runtime, tmp_path: Path, shop_url: str
) -> None:
    rng = random.Random(SEED)
    run_sql(shop_url, *SHOP_SCHEMA)
    service = Service(Newsletter(secret=SECRET, mode="slow", delay=0.15))
    pack = write_pack(tmp_path / "pack", systems_yaml(pg_declared(shop_url), service.url))
    settings = load_settings(
        env="test",
        database_url=database_url_of(committed.settings),
        data_dir=committed.settings.data_dir,
        policy_pack=pack,
        requests_systems=TEST_SYSTEMS,
    )
    runtime = Runtime(
        settings=settings,
        database_url=committed.database_url,
        engine=committed.engine,
        sessions=committed.sessions,
        clock=committed.clock,
    )
    services = build_services(runtime)
    ctx = RequestContext.of(services)
    made: list[tuple[uuid.UUID, uuid.UUID, str]] = []
    with runtime.sessions.begin() as session:
        set_secret(session, services.keys.keyring, runtime.clock, "newsletter", SECRET)
        for n in range(REQUESTS):
            subject = new_account(session, services.keys, runtime.clock, f"kill-{n}")
            email = session.scalar(
                sa.text("SELECT email FROM accounts WHERE id = :s"), {"s": subject}
            )
            service.state.subscribers[email] = {"email": email, "opens": n}
            run_sql(
                shop_url,
                f"INSERT INTO orders VALUES ('o{n}', '{email}', '{subject}', 'N{n}', 'A{n}')",
                f"INSERT INTO payments VALUES ('o{n}', '{email}', 'tok{n}')",
            )
            row = svc.open_request(
                session,
                ctx,
                subject_id=subject,
                kind="deletion",
                channel="app",
                actor=STAFF,
                ground="NO_PERMISSION",
            )
            svc.verify(session, ctx, row.id, method="session", actor=STAFF)
            approve(session, ctx, row.id, actor=STAFF)
            made.append((subject, row.id, email))
    run_sql(shop_url, "INSERT INTO orders VALUES ('x', 'other@example.org', 'x', 'Bob', 'B')")

    env = {
        **os.environ,
        "DOORSTEP_ENV": "test",
        "DOORSTEP_DATABASE_URL": database_url_of(settings),
        "DOORSTEP_DATA_DIR": str(settings.data_dir),
        "DOORSTEP_POLICY_PACK": str(pack),
        "DOORSTEP_REQUESTS_SYSTEMS": json.dumps(list(TEST_SYSTEMS)),
        "DOORSTEP_WORKER_HEARTBEAT_SECONDS": "0.2",
        "DOORSTEP_WORKER_STALLED_AFTER_SECONDS": "0.5",
    }
    log = tmp_path / "workers.log"
    interrupted = 0
    try:
        for _ in range(KILLS):
            if _jobs(runtime).get("todo", 0) + _jobs(runtime).get("doing", 0) == 0:
                break
            newest = newest_worker(runtime)
            worker = start_worker(env, log, concurrency=3)
            try:
                registered = wait_until(lambda n=newest: newest_worker(runtime) > n, 60)
                assert registered, log.read_text()[-2000:]
                time.sleep(rng.uniform(0.0, 0.5))
                worker.send_signal(signal.SIGKILL)
                worker.wait(timeout=30)
            finally:
                if worker.poll() is None:
                    worker.kill()
            interrupted += _jobs(runtime).get("doing", 0) > 0
            time.sleep(0.6)  # the dead worker goes stale; the next one requeues its jobs
        final = start_worker(env, log, concurrency=3)
        try:
            assert wait_until(lambda: set(_jobs(runtime)) <= {"succeeded"}, 120), (
                _jobs(runtime),
                log.read_text()[-2000:],
            )
        finally:
            final.send_signal(signal.SIGINT)
            final.wait(timeout=30)
    finally:
        service.stop()
    assert interrupted >= 1, "no kill interrupted a job: the test proved nothing"

    with runtime.sessions.begin() as session:
        for _subject, request_id, _email in made:
            desk.record_outcome(
                session,
                ctx,
                request_id,
                "tickets",
                outcome="not_found",
                evidence="S-1",
                actor=STAFF,
            )
    with runtime.sessions() as session:

        def count(sql: str, **params: object) -> int:
            return int(session.execute(sa.text(sql), params).scalar_one())

        for subject, request_id, email in made:
            assert svc.get(session, request_id).status.value == "completed"
            for action in ("request.completed",):
                assert (
                    count(
                        "SELECT count(*) FROM audit_events WHERE action = :a "
                        "AND details->>'request' = :r",
                        a=action,
                        r=str(request_id),
                    )
                    == 1
                )
            settled = session.execute(
                sa.text(
                    "SELECT details->>'system' FROM audit_events WHERE action = "
                    "'request.system_settled' AND details->>'request' = :r"
                ),
                {"r": str(request_id)},
            ).scalars()
            assert sorted(settled) == ["newsletter", "shop", "tickets"]  # archive: never asked
            states: dict[str, str] = dict(
                session.execute(
                    sa.text("SELECT system, state FROM request_systems WHERE request_id = :r"),
                    {"r": request_id},
                ).all()
            )
            assert states == {
                "archive": "not_found",
                "newsletter": "done",
                "shop": "done",
                "tickets": "not_found",
            }
            task = session.scalar(
                sa.text(
                    "SELECT id FROM request_systems WHERE request_id = :r AND system = 'newsletter'"
                ),
                {"r": request_id},
            )
            assert service.state.effective[email] == 1
            keys = {key for path, key in service.state.calls if key == str(task)}
            assert keys == {str(task)}
            assert (
                count(
                    "SELECT count(*) FROM outbox WHERE subject_id = :s "
                    "AND template = 'request.completed'",
                    s=subject,
                )
                == 1
            )
    shop = sa.create_engine(pg_declared(shop_url).replace("postgresql://", "postgresql+psycopg://"))
    with shop.connect() as connection:
        left = connection.execute(sa.text("SELECT count(*) FROM orders WHERE name IS NOT NULL"))
        assert left.scalar_one() == 1  # only the other customer's order keeps its name
        assert connection.execute(sa.text("SELECT count(*) FROM payments")).scalar_one() == 0
    shop.dispose()
