"""Workers killed at random points, many times: every export and erasure completes exactly once.

Real ``doorstep worker`` processes take a queue of export and erasure jobs;
the test SIGKILLs each at a random moment (seeded, so a failure can be replayed)
soon after it has registered, while it is in the middle of jobs, and starts
another.  A killed worker's transaction is rolled back by PostgreSQL and its
job goes back in the queue once the worker is seen to be dead
(:mod:`doorstep.jobs.stalled`).  At the end every request is completed once:
one ``request.completed`` event, one prepared export, one message, each erased
subject gone with its tombstone, and look-alike subjects untouched.
"""

from __future__ import annotations

import os
import random
import signal
import time
import uuid
from pathlib import Path

import pytest
import sqlalchemy as sa

from doorstep.core.runtime import Runtime
from doorstep.privacy.requests import services as svc
from doorstep.privacy.requests.context import RequestContext
from doorstep.privacy.requests.export import collect
from doorstep.privacy.requests.fulfil import approve
from doorstep.schema import metadata
from doorstep.wiring import build_services
from tests.conftest import database_url_of
from tests.requests.conftest import STAFF, new_account
from tests.workers import newest_worker, start_worker, wait_registered, wait_until

SEED = int(os.environ.get("DOORSTEP_KILL_SEED", "20261202"))
KILLS = 12
EACH_KIND = 5
#: Consent events per subject: enough rows that a job takes tens of milliseconds.
ROWS = 1500


def _subject(session: sa.orm.Session, runtime: Runtime, keys: object, token: str) -> uuid.UUID:
    from doorstep.keys.services import KeyService

    assert isinstance(keys, KeyService)
    subject = new_account(session, keys, runtime.clock, token)
    session.execute(
        sa.text(
            "INSERT INTO consent_events (id, subject_id, purpose, action, channel, "
            "policy_version, notice_hash, occurred_at) SELECT gen_random_uuid(), :s, "
            "'account.profile', 'grant', 'app', 'v1', repeat('0', 64), :now "
            "FROM generate_series(1, :n)"
        ),
        {"s": subject, "now": runtime.clock.now(), "n": ROWS},
    )
    return subject


def _jobs(runtime: Runtime) -> dict[str, int]:
    with runtime.engine.connect() as connection:
        rows = connection.execute(
            sa.text(
                "SELECT status::text, count(*) FROM procrastinate_jobs "
                "WHERE task_name IN ('requests.export', 'requests.erase') GROUP BY status"
            )
        )
        return {status: int(count) for status, count in rows}


@pytest.mark.slow
@pytest.mark.timeout(300)
@pytest.mark.clause("CPE-V.3.a")
@pytest.mark.clause("CPE-V.1.c")
def test_workers_killed_at_random_points_complete_every_request_exactly_once(
    committed: Runtime, tmp_path: Path
) -> None:
    rng = random.Random(SEED)
    services = build_services(committed)
    ctx = RequestContext.of(services)
    deletions, exports, bystanders = [], [], []
    with committed.sessions.begin() as session:
        for n in range(EACH_KIND):
            for kind, into in (("deletion", deletions), ("access", exports)):
                subject = _subject(session, committed, services.keys, f"{kind}-{n}")
                row = svc.open_request(
                    session,
                    ctx,
                    subject_id=subject,
                    kind=kind,
                    channel="app",
                    actor=STAFF,
                    ground="NO_PERMISSION" if kind == "deletion" else None,
                )
                svc.verify(session, ctx, row.id, method="session", actor=STAFF)
                approve(session, ctx, row.id, actor=STAFF)
                into.append((subject, row.id))
            bystanders.append(_subject(session, committed, services.keys, f"bystander-{n}"))
    with committed.sessions() as session:
        before = {b: collect(session, services.keys, metadata, b) for b in bystanders}

    env = {
        **os.environ,
        "DOORSTEP_ENV": "test",
        "DOORSTEP_DATABASE_URL": database_url_of(committed.settings),
        "DOORSTEP_DATA_DIR": str(committed.settings.data_dir),
        "DOORSTEP_WORKER_HEARTBEAT_SECONDS": "0.2",
        "DOORSTEP_WORKER_STALLED_AFTER_SECONDS": "0.5",
    }
    interrupted = 0
    log = tmp_path / "workers.log"
    for _ in range(KILLS):
        if _jobs(committed).get("todo", 0) + _jobs(committed).get("doing", 0) == 0:
            break
        newest = newest_worker(committed)
        worker = start_worker(env, log)
        try:
            wait_registered(worker, committed, newest, log)
            time.sleep(rng.uniform(0.0, 0.4))
            worker.send_signal(signal.SIGKILL)
            worker.wait(timeout=30)
        finally:
            if worker.poll() is None:
                worker.kill()
        interrupted += _jobs(committed).get("doing", 0) > 0
        time.sleep(0.6)  # the dead worker's heartbeat goes stale; the next one requeues its jobs
    final = start_worker(env, log)
    try:
        assert wait_until(lambda: set(_jobs(committed)) <= {"succeeded"}, 120), _jobs(committed)
    finally:
        final.send_signal(signal.SIGINT)
        final.wait(timeout=30)

    # Most kills land in the middle of a job; if none did, the test proved nothing.
    assert interrupted >= KILLS // 3, f"only {interrupted} kills interrupted a job"
    with committed.sessions() as session:

        def count(sql: str, **params: object) -> int:
            return int(session.execute(sa.text(sql), params).scalar_one())

        for subject, request_id in deletions + exports:
            assert svc.get(session, request_id).status.value == "completed"
            assert (
                count(
                    "SELECT count(*) FROM audit_events WHERE action = 'request.completed' "
                    "AND details->>'request' = :r",
                    r=str(request_id),
                )
                == 1
            )
            assert (
                count(
                    "SELECT count(*) FROM outbox WHERE subject_id = :s "
                    "AND template IN ('request.completed', 'request.export_ready')",
                    s=subject,
                )
                == 1
            )
        for subject, request_id in deletions:
            assert count("SELECT count(*) FROM subjects WHERE id = :s", s=subject) == 0
            assert (
                count("SELECT count(*) FROM consent_events WHERE subject_id = :s", s=subject) == 0
            )
            assert (
                count("SELECT count(*) FROM erasure_tombstones WHERE request_id = :r", r=request_id)
                == 1
            )
        for _subject_id, request_id in exports:
            assert (
                count("SELECT count(*) FROM request_exports WHERE request_id = :r", r=request_id)
                == 1
            )
        for bystander, data in before.items():
            assert collect(session, services.keys, metadata, bystander) == data
