"""One attempt carries several subjects' parts in one system (decision 0048).

The job of one task takes fresh tasks of the same system along, leased to the
job: an SQL system does them in one transaction with a savepoint per subject, an
HTTP system gets one call per task under each task's own idempotency key.  A
subject whose part fails is rolled back and retried alone; a task another live
attempt holds is left alone until its lease lapses; a retried job takes again
what its dead run held.  Same pack and services as test_orchestration.py.
"""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session, sessionmaker

from doorstep.core.clock import FakeClock
from doorstep.privacy.requests import services as svc
from doorstep.privacy.requests.context import RequestContext
from doorstep.privacy.requests.erasure_requests import erase_for_request
from doorstep.privacy.requests.fulfil import approve
from doorstep.privacy.requests.systems.claim import claim
from doorstep.privacy.requests.systems.models import RequestSystem
from doorstep.privacy.requests.systems.run import attempt
from tests.connectors.conftest import run_sql
from tests.connectors.loopback import Service
from tests.connectors.test_orchestration import _customer, _events, _shop, _tasks
from tests.requests.conftest import STAFF, verified

GROUND = "NO_PERMISSION"
#: Each customer's e-mail, read before Doorstep's own erasure (by subject id).
EMAILS: dict[uuid.UUID, str] = {}


@pytest.fixture
def ctx(sys_ctx: RequestContext) -> RequestContext:
    """The request context under the test's systems pack."""
    return sys_ctx


def _deletions(
    db: Session, ctx: RequestContext, shop_db: str, newsletter: Service, count: int
) -> list[uuid.UUID]:
    """``count`` customers, each with an approved deletion request and Doorstep's own part
    erased; the requests' ids, oldest first."""
    made = []
    for n in range(count):
        if n:  # _customer adds the same other customer each time
            run_sql(shop_db, "DELETE FROM orders WHERE order_number = 'other'")
        subject = _customer(db, ctx, shop_db, newsletter)
        EMAILS[subject] = db.scalar(
            sa.text("SELECT email FROM accounts WHERE id = :s"), {"s": subject}
        )
        request_id = verified(db, ctx, subject, "deletion", ground=GROUND)
        approve(db, ctx, request_id, actor=STAFF)
        erase_for_request(db, ctx, ctx.require_services().keys, request_id, actor=STAFF)
        made.append(request_id)
        ctx.clock.advance(timedelta(seconds=1))  # type: ignore[attr-defined]
    db.commit()
    return made


def _shop_left(shop_db: str) -> int:
    query = "SELECT count(email) FROM orders WHERE email <> 'other@example.org'"
    return int(str(_shop(shop_db, query)[0][0]))


@pytest.mark.clause("CPE-V.3.a")
def test_one_attempt_carries_the_fresh_parts_of_other_requests_in_the_same_system(
    db: Session,
    ctx: RequestContext,
    sessions: sessionmaker[Session],
    shop_db: str,
    newsletter: Service,
) -> None:
    requests = _deletions(db, ctx, shop_db, newsletter, 3)
    first = _tasks(db, requests[0])
    assert _shop_left(shop_db) == 3
    assert attempt(ctx, sessions, first["shop"].id, owner="job:1") == "done"
    for request_id in requests:
        tasks = _tasks(db, request_id)
        assert tasks["shop"].state == "done" and tasks["shop"].attempts == 1
        assert tasks["shop"].leased_by is None and tasks["shop"].lease_until is None
        assert tasks["newsletter"].state == "pending"  # another system: its own attempt
    assert _shop_left(shop_db) == 0
    assert _shop(shop_db, "SELECT count(*) FROM payments") == [(0,)]
    # the others' own jobs find their part settled and do nothing
    for request_id in requests[1:]:
        assert attempt(ctx, sessions, _tasks(db, request_id)["shop"].id, owner="job:2") == "done"
    # the newsletter: one call per task, under each task's own idempotency key
    assert attempt(ctx, sessions, first["newsletter"].id, owner="job:3") == "done"
    keys = [key for path, key in newsletter.state.calls if path.endswith("erasure")]
    assert sorted(keys) == sorted(str(_tasks(db, r)["newsletter"].id) for r in requests)
    assert newsletter.state.subscribers == {}
    for request_id in requests:
        settled = [e["system"] for e in _events(db, request_id, "request.system_settled")]
        assert sorted(settled) == ["newsletter", "shop"]  # once each
        assert svc.get(db, request_id).closed_at is None  # the manual ticket is still open


@pytest.mark.clause("CPE-V.3.a")
def test_a_subject_whose_part_fails_is_rolled_back_and_retried_alone(
    db: Session,
    ctx: RequestContext,
    sessions: sessionmaker[Session],
    shop_db: str,
    newsletter: Service,
) -> None:
    requests = _deletions(db, ctx, shop_db, newsletter, 3)
    second = _tasks(db, requests[1])["shop"]
    target = EMAILS[second.subject_id]
    # the shop refuses to change the second customer's orders (a trigger of its own)
    run_sql(
        shop_db,
        "CREATE OR REPLACE FUNCTION refuse() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
        f"IF OLD.email = '{target}' THEN RAISE EXCEPTION 'refused'; END IF; RETURN NEW; END $$",
        "CREATE TRIGGER refuse BEFORE UPDATE ON orders FOR EACH ROW EXECUTE FUNCTION refuse()",
    )
    assert attempt(ctx, sessions, _tasks(db, requests[0])["shop"].id, owner="job:1") == "done"
    states = {r: _tasks(db, r)["shop"] for r in requests}
    assert states[requests[0]].state == "done" and states[requests[2]].state == "done"
    failed = states[requests[1]]
    assert (failed.state, failed.reason, failed.attempts) == ("pending", "schema", 1)
    assert _shop(shop_db, f"SELECT count(*) FROM orders WHERE email = '{target}'") == [(1,)]
    # the failed part has a job of its own, after the back-off
    job = db.execute(
        sa.text(
            "SELECT scheduled_at FROM procrastinate_jobs WHERE task_name = "
            "'requests.systems_run' AND args->>'task_id' = :t AND status = 'todo'"
        ),
        {"t": str(second.id)},
    ).all()
    assert len(job) == 1
    assert job[0].scheduled_at is None or job[0].scheduled_at > ctx.clock.now()
    run_sql(shop_db, "DROP TRIGGER refuse ON orders")
    assert attempt(ctx, sessions, second.id, owner="job:2") == "done"
    assert _tasks(db, requests[1])["shop"].attempts == 2
    assert _shop_left(shop_db) == 0


def test_a_task_another_live_attempt_holds_is_left_alone_until_its_lease_lapses(
    db: Session,
    ctx: RequestContext,
    sessions: sessionmaker[Session],
    shop_db: str,
    newsletter: Service,
    clock: FakeClock,
) -> None:
    (request_id,) = _deletions(db, ctx, shop_db, newsletter, 1)
    task = _tasks(db, request_id)["shop"]
    with sessions.begin() as session:
        taken = claim(session, ctx, task.id, "job:holder")
        assert taken is not None and taken.connector is not None
        taken.connector.close()
    assert attempt(ctx, sessions, task.id, owner="job:other") == "running"
    assert _shop_left(shop_db) == 1 and _tasks(db, request_id)["shop"].attempts == 1
    clock.advance(timedelta(minutes=5))
    assert attempt(ctx, sessions, task.id, owner="job:other") == "done"
    after = _tasks(db, request_id)["shop"]
    assert after.attempts == 2 and _shop_left(shop_db) == 0


def test_a_retried_job_takes_again_every_part_its_dead_run_held(
    db: Session,
    ctx: RequestContext,
    sessions: sessionmaker[Session],
    shop_db: str,
    newsletter: Service,
) -> None:
    requests = _deletions(db, ctx, shop_db, newsletter, 3)
    lead = _tasks(db, requests[0])["shop"]
    with sessions.begin() as session:  # the run that died after claiming
        taken = claim(session, ctx, lead.id, "job:7")
        assert taken is not None and len(taken.taken) == 3
        assert taken.connector is not None
        taken.connector.close()
    # a companion's own job meanwhile: held under a live lease, left alone
    assert attempt(ctx, sessions, _tasks(db, requests[2])["shop"].id, owner="job:9") == "running"
    assert attempt(ctx, sessions, lead.id, owner="job:7") == "done"
    for request_id in requests:
        task = _tasks(db, request_id)["shop"]
        assert (task.state, task.attempts, task.leased_by) == ("done", 2, None)
    assert _shop_left(shop_db) == 0
    assert not db.scalars(
        sa.select(RequestSystem).where(RequestSystem.leased_by.is_not(None))
    ).all()
