"""A notification run killed half-way resumes without notifying anyone twice.

Real ``doorstep worker`` processes run the fan-out of one incident in small
batches; the test SIGKILLs each at a random moment (seeded) and starts another,
as for requests (tests/requests/test_killed_workers.py).  At the end every
affected subject was told exactly once: one e-mail in the outbox, one delivery
record, status ``notified``.
"""

from __future__ import annotations

import os
import random
import signal
from pathlib import Path

import pytest
import sqlalchemy as sa

from doorstep.core.runtime import Runtime
from doorstep.privacy.incidents import fanout
from doorstep.privacy.incidents import services as svc
from doorstep.privacy.incidents.context import IncidentContext
from doorstep.privacy.incidents.notices import set_notice
from doorstep.wiring import build_services
from tests.conftest import database_url_of
from tests.incidents.conftest import FIVE_PARTS, STAFF, subscriber
from tests.workers import kill_at_random, start_worker, wait_until

SEED = int(os.environ.get("DOORSTEP_KILL_SEED", "20261207"))
KILLS = 8
SUBJECTS = 600


def _pending(runtime: Runtime) -> int:
    with runtime.engine.connect() as connection:
        return int(
            connection.execute(
                sa.text("SELECT count(*) FROM incident_subjects WHERE status = 'pending'")
            ).scalar_one()
        )


def _fanout_jobs(runtime: Runtime) -> dict[str, int]:
    with runtime.engine.connect() as connection:
        rows = connection.execute(
            sa.text(
                "SELECT status::text, count(*) FROM procrastinate_jobs "
                "WHERE task_name = 'incidents.notify' GROUP BY status"
            )
        )
        return {status: int(count) for status, count in rows}


@pytest.mark.slow
@pytest.mark.timeout(300)
def test_a_killed_fan_out_resumes_and_tells_everyone_once(
    committed: Runtime, tmp_path: Path
) -> None:
    rng = random.Random(SEED)
    ctx = IncidentContext.of(build_services(committed))
    with committed.sessions.begin() as session:
        users = [subscriber(session, email=f"k{n}@example.org") for n in range(SUBJECTS)]
        incident = svc.open_incident(session, ctx, kind="loss", actor=STAFF, subject_ids=users)
        svc.rate(session, ctx, incident.id, "significant", actor=STAFF)
        set_notice(session, ctx, incident.id, FIVE_PARTS, actor=STAFF)
        fanout.start(session, ctx, incident.id, actor=STAFF)

    env = {
        **os.environ,
        "DOORSTEP_ENV": "test",
        "DOORSTEP_DATABASE_URL": database_url_of(committed.settings),
        "DOORSTEP_DATA_DIR": str(committed.settings.data_dir),
        "DOORSTEP_WORKER_HEARTBEAT_SECONDS": "0.2",
        "DOORSTEP_WORKER_STALLED_AFTER_SECONDS": "0.5",
        "DOORSTEP_INCIDENT_FANOUT_BATCH": "15",
    }
    log = tmp_path / "workers.log"
    interrupted = kill_at_random(
        committed, env, log, pending=lambda: _pending(committed), kills=KILLS, rng=rng
    )
    final = start_worker(env, log)
    try:
        assert wait_until(lambda: _pending(committed) == 0, 120), _pending(committed)
        assert wait_until(lambda: set(_fanout_jobs(committed)) <= {"succeeded"}, 60)
    finally:
        final.send_signal(signal.SIGINT)
        final.wait(timeout=30)

    assert interrupted >= 1, "no kill landed in the middle of the fan-out"
    with committed.sessions() as session:
        per_subject = session.execute(
            sa.text(
                "SELECT s.subject_id, s.status, "
                "(SELECT count(*) FROM outbox o WHERE o.subject_id = s.subject_id) AS messages, "
                "(SELECT count(*) FROM incident_deliveries d WHERE d.subject_id = s.subject_id) "
                "AS deliveries FROM incident_subjects s WHERE s.incident_id = :i"
            ),
            {"i": incident.id},
        ).all()
    assert len(per_subject) == SUBJECTS
    assert {(row.status, row.messages, row.deliveries) for row in per_subject} == {
        ("notified", 1, 1)
    }
