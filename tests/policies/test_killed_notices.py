"""The notice run of a major version, killed half-way, resumes and tells everyone once.

Real ``doorstep worker`` processes run ``changes.notify`` in small batches; the
test SIGKILLs each at a random moment (seeded: ``DOORSTEP_KILL_SEED`` replays a
failure) soon after it committed its first batch, and starts another, as the request and
incident kill tests do (tests/requests/test_killed_workers.py).  A killed
worker's batch is rolled back by PostgreSQL and its job goes back in the queue
once the worker is seen to be dead.  At the end every affected subscriber has
exactly one notice row, one e-mail in the outbox (and one SMS where the number
is proven), one ``policy.notified`` audit entry; deregistered accounts got nothing.
"""

from __future__ import annotations

import os
import random
import signal
import uuid
from collections.abc import Callable
from pathlib import Path

import pytest
import sqlalchemy as sa

from doorstep.core.runtime import Runtime
from doorstep.wiring import build_services
from tests.conftest import database_url_of
from tests.policies.conftest import in_days, new_account, publish_pack
from tests.workers import kill_at_random, start_worker, wait_until

SEED = int(os.environ.get("DOORSTEP_KILL_SEED", "20261216"))
KILLS = 8
SUBSCRIBERS = 600
#: Every third subscriber has a proven mobile number (and gets an SMS as well).
WITH_PHONE = 3
DEREGISTERED = 5
VERSION = "2.0"


def _pending(runtime: Runtime) -> int:
    """Subscribers the run has not claimed yet."""
    with runtime.engine.connect() as connection:
        return int(
            connection.execute(
                sa.text(
                    "SELECT count(*) FROM accounts a WHERE a.status <> 'deregistered' "
                    "AND NOT EXISTS (SELECT 1 FROM policy_notices n "
                    "WHERE n.subject_id = a.id AND n.version_id = :v)"
                ),
                {"v": VERSION},
            ).scalar_one()
        )


def _notify_jobs(runtime: Runtime) -> dict[str, int]:
    with runtime.engine.connect() as connection:
        rows = connection.execute(
            sa.text(
                "SELECT status::text, count(*) FROM procrastinate_jobs "
                "WHERE task_name = 'changes.notify' GROUP BY status"
            )
        )
        return {status: int(count) for status, count in rows}


def _deregistered(session: sa.orm.Session, number: int) -> uuid.UUID:
    subject = uuid.uuid4()
    session.execute(
        sa.text("INSERT INTO subjects (id, kind) VALUES (:id, 'subscriber')"), {"id": subject}
    )
    session.execute(
        sa.text(
            "INSERT INTO accounts (id, status, email, password_hash, created_at, "
            "deregistered_at, source) VALUES (:id, 'deregistered', :email, 'x', now(), now(), "
            "'app_signup')"
        ),
        {"id": subject, "email": f"gone{number}@example.org"},
    )
    return subject


@pytest.mark.slow
@pytest.mark.timeout(300)
@pytest.mark.clause("CPE-VII.3")
@pytest.mark.clause("CORP-8.2")
def test_a_killed_notice_run_resumes_and_tells_every_subscriber_exactly_once(
    committed: Runtime, tmp_path: Path, pack_copy: Callable[..., Path]
) -> None:
    rng = random.Random(SEED)
    services = build_services(committed)
    with committed.sessions.begin() as session:
        phones = {
            new_account(session, committed, phone=f"+49151{n:08d}")
            for n in range(0, SUBSCRIBERS, WITH_PHONE)
        }
        others = {
            new_account(session, committed) for n in range(SUBSCRIBERS) if n % WITH_PHONE != 0
        }
        gone = {_deregistered(session, n) for n in range(DEREGISTERED)}
        folder = pack_copy("high-risk", policy={"impact_assessment": "high"})
        version = publish_pack(session, services, folder, VERSION, in_days(committed, 40))
        assert version.major  # enqueues changes.notify in this transaction
    assert _pending(committed) == SUBSCRIBERS

    env = {
        **os.environ,
        "DOORSTEP_ENV": "test",
        "DOORSTEP_DATABASE_URL": database_url_of(committed.settings),
        "DOORSTEP_DATA_DIR": str(committed.settings.data_dir),
        "DOORSTEP_WORKER_HEARTBEAT_SECONDS": "0.2",
        "DOORSTEP_WORKER_STALLED_AFTER_SECONDS": "0.5",
        "DOORSTEP_POLICY_NOTICE_BATCH": "15",
    }
    log = tmp_path / "workers.log"
    # Once a worker has committed a batch, it is killed at a random point after.
    interrupted = kill_at_random(
        committed,
        env,
        log,
        pending=lambda: _pending(committed),
        kills=KILLS,
        rng=rng,
        after_progress=True,
        delay=(0.0, 0.25),
    )
    final = start_worker(env, log)
    try:
        assert wait_until(lambda: _pending(committed) == 0, 120), _pending(committed)
        assert wait_until(lambda: set(_notify_jobs(committed)) <= {"succeeded"}, 60)
    finally:
        final.send_signal(signal.SIGINT)
        final.wait(timeout=30)

    assert interrupted >= 1, "no kill landed in the middle of the notice run"
    with committed.sessions() as session:
        rows = session.execute(
            sa.text(
                "SELECT a.id, "
                "(SELECT count(*) FROM policy_notices n WHERE n.subject_id = a.id) AS notices, "
                "(SELECT count(*) FROM outbox o WHERE o.subject_id = a.id "
                " AND o.template = 'policy.changed') AS mails, "
                "(SELECT count(*) FROM outbox o WHERE o.subject_id = a.id "
                " AND o.template = 'policy.changed_sms') AS texts, "
                "(SELECT count(*) FROM audit_events e WHERE e.subject_id = a.id "
                " AND e.action = 'policy.notified') AS audited "
                "FROM accounts a"
            )
        ).all()
    told = {row.id: (row.notices, row.mails, row.texts, row.audited) for row in rows}
    assert len(told) == SUBSCRIBERS + DEREGISTERED
    assert {told[subject] for subject in phones} == {(1, 1, 1, 1)}
    assert {told[subject] for subject in others} == {(1, 1, 0, 1)}
    assert {told[subject] for subject in gone} == {(0, 0, 0, 0)}
