"""A request reaches every connected system: fan-out, per-system jobs, completion, the export.

A pack of the test's own declares a shop (a real PostgreSQL database), a
newsletter service (HTTP on loopback, started by the test) and after-sales
tickets (a manual task); requests reach all of them (``requests_systems``).
Each system's job is one call of :func:`~doorstep.privacy.requests.systems.run.attempt`
here, in the test's transaction; tests/connectors/test_worker_kills.py runs real workers.
"""

from __future__ import annotations

import io
import json
import uuid
import zipfile

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session, sessionmaker

from doorstep.core.clock import FakeClock
from doorstep.privacy.holds import services as holds
from doorstep.privacy.requests import services as svc
from doorstep.privacy.requests.context import RequestContext
from doorstep.privacy.requests.downloads import prepare
from doorstep.privacy.requests.erasure_requests import erase_for_request
from doorstep.privacy.requests.export import SCHEMA
from doorstep.privacy.requests.fulfil import approve
from doorstep.privacy.requests.models import RequestExport
from doorstep.privacy.requests.systems import desk
from doorstep.privacy.requests.systems.models import RequestSystem
from doorstep.privacy.requests.systems.run import Retry, attempt
from tests.connectors.conftest import run_sql
from tests.connectors.loopback import Service
from tests.requests.conftest import STAFF, new_account, verified

GROUND = "NO_PERMISSION"


@pytest.fixture
def ctx(sys_ctx: RequestContext) -> RequestContext:
    """The request context under the test's systems pack."""
    return sys_ctx


def _customer(db: Session, ctx: RequestContext, shop_db: str, newsletter: Service) -> uuid.UUID:
    """A subscriber with an order and a payment in the shop and a newsletter subscription."""
    services = ctx.require_services()
    subject = new_account(db, services.keys, ctx.clock, f"t-{uuid.uuid4().hex[:6]}")
    email = db.scalar(sa.text("SELECT email FROM accounts WHERE id = :s"), {"s": subject})
    order = uuid.uuid4().hex[:10]
    run_sql(
        shop_db,
        f"INSERT INTO orders VALUES ('{order}', '{email}', '{subject}', 'Ada', '1 Main St')",
        f"INSERT INTO payments VALUES ('{order}', '{email}', 'tok_{order}')",
        "INSERT INTO orders VALUES ('other', 'other@example.org', 'x', 'Bob', '2 High St')",
    )
    newsletter.state.subscribers[email] = {"email": email, "opens": 3}
    return subject


def _tasks(db: Session, request_id: uuid.UUID) -> dict[str, RequestSystem]:
    db.expire_all()
    rows = db.scalars(sa.select(RequestSystem).where(RequestSystem.request_id == request_id))
    return {row.system: row for row in rows}


def _run(ctx: RequestContext, sessions: sessionmaker[Session], task: RequestSystem) -> str:
    return attempt(ctx, sessions, task.id)


def _events(db: Session, request_id: uuid.UUID, action: str) -> list[dict[str, str]]:
    from doorstep.audit.services import flush_events

    flush_events(db)
    rows = db.execute(
        sa.text(
            "SELECT details FROM audit_events WHERE action = :a AND details->>'request' = :r "
            "ORDER BY id"
        ),
        {"a": action, "r": str(request_id)},
    )
    return [row.details for row in rows]


def _shop(shop_db: str, sql: str) -> list[tuple[object, ...]]:
    engine = sa.create_engine(shop_db.replace("postgresql://", "postgresql+psycopg://"))
    with engine.connect() as connection:
        rows = [tuple(row) for row in connection.execute(sa.text(sql))]
    engine.dispose()
    return rows


@pytest.mark.clause("CPE-V.3.a")
def test_an_erasure_reaches_every_system_and_completes_only_when_all_have_confirmed(
    db: Session,
    ctx: RequestContext,
    sessions: sessionmaker[Session],
    shop_db: str,
    newsletter: Service,
) -> None:
    subject = _customer(db, ctx, shop_db, newsletter)
    email = db.scalar(sa.text("SELECT email FROM accounts WHERE id = :s"), {"s": subject})
    request_id = verified(db, ctx, subject, "deletion", ground=GROUND)
    approve(db, ctx, request_id, actor=STAFF)
    tasks = _tasks(db, request_id)
    assert {name: t.state for name, t in tasks.items()} == {
        "shop": "pending",
        "newsletter": "pending",
        "tickets": "waiting",
        "archive": "not_found",
    }
    request = svc.get(db, request_id)
    assert tasks["tickets"].due_at is not None and tasks["tickets"].due_at <= request.due_at
    # Doorstep's own erasure runs at once and does not wait for the systems
    erase_for_request(db, ctx, ctx.require_services().keys, request_id, actor=STAFF)
    db.expire_all()
    assert db.scalar(sa.text("SELECT count(*) FROM accounts WHERE id = :s"), {"s": subject}) == 0
    assert svc.get(db, request_id).closed_at is None
    assert _run(ctx, sessions, tasks["shop"]) == "done"
    assert _run(ctx, sessions, tasks["newsletter"]) == "done"
    assert email not in newsletter.state.subscribers
    assert _shop(shop_db, "SELECT email, name, address FROM orders ORDER BY order_number") == [
        (None, None, None),
        ("other@example.org", "Bob", "2 High St"),
    ]
    assert _shop(shop_db, "SELECT count(*) FROM payments") == [(0,)]
    assert svc.get(db, request_id).closed_at is None  # the manual task is still open
    # the desk sees the identifiers to look for and records the outcome with evidence
    views = {v.system: v for v in desk.states(db, ctx, request_id, actor=STAFF)}
    assert views["tickets"].look_for == {"email": [email]}
    assert views["shop"].look_for is None
    desk.record_outcome(
        db, ctx, request_id, "tickets", outcome="done", evidence="TICKET-77", actor=STAFF
    )
    db.expire_all()
    row = svc.get(db, request_id)
    assert row.status.value == "completed"
    # the requester is told at the address sealed before the erasure, once
    sent = db.execute(
        sa.text(
            "SELECT count(*) FROM outbox WHERE template = 'request.completed' AND subject_id = :s"
        ),
        {"s": subject},
    ).scalar_one()
    assert sent == 1
    tasks = _tasks(db, request_id)
    assert all(t.sealed is None and t.wrapped_key is None for t in tasks.values())
    assert tasks["tickets"].evidence == "TICKET-77" and tasks["tickets"].actor == STAFF
    assert len(_events(db, request_id, "request.completed")) == 1


def test_identifiers_never_reach_a_job_payload_and_unknown_subjects_are_not_found(
    db: Session, ctx: RequestContext, sessions: sessionmaker[Session], newsletter: Service
) -> None:
    subject = new_account(db, ctx.require_services().keys, ctx.clock, "nobody")
    request_id = verified(db, ctx, subject, "deletion", ground=GROUND)
    approve(db, ctx, request_id, actor=STAFF)
    payloads = db.execute(
        sa.text(
            "SELECT args::text FROM procrastinate_jobs WHERE task_name = 'requests.systems_run'"
        )
    ).scalars()
    email = db.scalar(sa.text("SELECT email FROM accounts WHERE id = :s"), {"s": subject})
    assert all(email not in args and "@" not in args for args in payloads)
    tasks = _tasks(db, request_id)
    assert _run(ctx, sessions, tasks["newsletter"]) == "not_found"
    assert _run(ctx, sessions, tasks["shop"]) == "not_found"


@pytest.mark.clause("CORP-4.4")
def test_an_access_export_waits_for_every_system_and_merges_their_parts_marked_by_system(
    db: Session,
    ctx: RequestContext,
    sessions: sessionmaker[Session],
    shop_db: str,
    newsletter: Service,
) -> None:
    subject = _customer(db, ctx, shop_db, newsletter)
    email = db.scalar(sa.text("SELECT email FROM accounts WHERE id = :s"), {"s": subject})
    request_id = verified(db, ctx, subject, "access")
    approve(db, ctx, request_id, actor=STAFF)
    assert prepare(db, ctx, request_id, actor=STAFF).built is False  # systems outstanding
    tasks = _tasks(db, request_id)
    assert _run(ctx, sessions, tasks["shop"]) == "done"
    assert _run(ctx, sessions, tasks["newsletter"]) == "done"
    desk.record_outcome(
        db, ctx, request_id, "tickets", outcome="not_found", evidence="SEARCH-1", actor=STAFF
    )
    queued = db.execute(
        sa.text(
            "SELECT count(*) FROM procrastinate_jobs WHERE task_name = 'requests.export' "
            "AND status = 'todo' AND args->>'request_id' = :r"
        ),
        {"r": str(request_id)},
    ).scalar_one()
    assert queued == 1  # the last system to settle queued the export again
    db.expire_all()  # the job's own session: what the systems' jobs committed
    assert prepare(db, ctx, request_id, actor=STAFF).built is True
    stored = db.get(RequestExport, request_id)
    assert stored is not None
    archive = ctx.require_services().keys.decrypt(
        db, subject, stored.archive, context="request_exports.archive"
    )
    with zipfile.ZipFile(io.BytesIO(archive)) as made:
        data = json.loads(made.read("data.json"))
        shop = json.loads(made.read("systems/shop.json"))
        letter = json.loads(made.read("systems/newsletter.json"))
        readme = made.read("README.md").decode()
        names = made.namelist()
    assert set(data) <= set(SCHEMA["properties"]) and set(SCHEMA["required"]) <= set(data)
    assert shop["data"] == {
        "orders.name": ["Ada"],
        "orders.address": ["1 Main St"],
        "payments.card_token": [shop["data"]["payments.card_token"][0]],
    }
    assert letter["data"] == {"subscriber.email": [email], "subscriber.opens": [3]}
    assert data["systems"]["tickets"]["state"] == "not_found"
    assert "systems/tickets.json" in names
    assert "Your data in our other systems" in readme and "`newsletter`" in readme
    assert "Bob" not in json.dumps(data)  # another customer's row never leaks
    assert all(t.result is None for t in _tasks(db, request_id).values())


@pytest.mark.parametrize(
    ("mode", "reason"),
    [("garbage", "garbage"), ("slow", "timeout"), ("die", "unreachable"), ("error", "failed")],
)
def test_a_misbehaving_system_is_retried_then_failed_with_the_reason_and_nothing_else_is_lost(
    db: Session,
    ctx: RequestContext,
    sessions: sessionmaker[Session],
    shop_db: str,
    newsletter: Service,
    mode: str,
    reason: str,
) -> None:
    subject = _customer(db, ctx, shop_db, newsletter)
    email = db.scalar(sa.text("SELECT email FROM accounts WHERE id = :s"), {"s": subject})
    newsletter.state.mode, newsletter.state.delay = mode, 2.0
    request_id = verified(db, ctx, subject, "deletion", ground=GROUND)
    approve(db, ctx, request_id, actor=STAFF)
    erase_for_request(db, ctx, ctx.require_services().keys, request_id, actor=STAFF)
    tasks = _tasks(db, request_id)
    assert _run(ctx, sessions, tasks["shop"]) == "done"
    with pytest.raises(Retry):
        _run(ctx, sessions, tasks["newsletter"])
    assert _tasks(db, request_id)["newsletter"].reason == reason
    assert _run(ctx, sessions, tasks["newsletter"]) == "failed"
    after = _tasks(db, request_id)
    assert after["newsletter"].attempts == 2 and after["newsletter"].reason == reason
    assert after["shop"].state == "done" and after["shop"].attempts == 1
    # a slow system may have done the work after Doorstep stopped waiting: the retry
    # carries the same idempotency key, so it is never done twice
    assert (email in newsletter.state.subscribers) is (mode != "slow")
    # the desk re-runs only the failed system; the shop is not asked again
    newsletter.state.mode = "ok"
    desk.record_outcome(
        db, ctx, request_id, "tickets", outcome="legal_retention", evidence="KEEP-1", actor=STAFF
    )
    assert svc.get(db, request_id).closed_at is None
    again = {v.system: v for v in desk.rerun(db, ctx, request_id, actor=STAFF)}
    assert again["newsletter"].state == "pending" and again["newsletter"].attempts == 0
    assert again["shop"].attempts == 1
    assert _run(ctx, sessions, _tasks(db, request_id)["newsletter"]) == "done"
    db.expire_all()
    assert svc.get(db, request_id).status.value == "completed"
    assert newsletter.state.effective[email] == 1
    assert _events(db, request_id, "request.system_failed")[0]["reason"] == reason
    assert len(_events(db, request_id, "subject.erased")) <= 1


def test_a_system_that_fails_mid_erasure_changes_nothing_there_and_succeeds_on_retry(
    db: Session,
    ctx: RequestContext,
    sessions: sessionmaker[Session],
    shop_db: str,
    newsletter: Service,
) -> None:
    subject = _customer(db, ctx, shop_db, newsletter)
    # the payments table fails once, after the orders were anonymised in the same transaction
    run_sql(
        shop_db,
        "DROP SEQUENCE IF EXISTS trip",
        "CREATE SEQUENCE trip",  # not rolled back with the failing transaction
        "CREATE OR REPLACE FUNCTION trip() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
        "IF nextval('trip') = 1 THEN RAISE EXCEPTION 'disk on fire'; END IF; "
        "RETURN OLD; END $$",
        "CREATE TRIGGER trip BEFORE DELETE ON payments FOR EACH ROW EXECUTE FUNCTION trip()",
    )
    request_id = verified(db, ctx, subject, "deletion", ground=GROUND)
    approve(db, ctx, request_id, actor=STAFF)
    shop = _tasks(db, request_id)["shop"]
    with pytest.raises(Retry):
        _run(ctx, sessions, shop)
    assert _shop(shop_db, "SELECT count(*) FROM orders WHERE name IS NOT NULL") == [(2,)]
    assert _shop(shop_db, "SELECT count(*) FROM payments") == [(1,)]
    assert _run(ctx, sessions, shop) == "done"
    assert _shop(shop_db, "SELECT count(*) FROM orders WHERE name IS NOT NULL") == [(1,)]
    assert _shop(shop_db, "SELECT count(*) FROM payments") == [(0,)]
    assert _tasks(db, request_id)["shop"].attempts == 2


def test_under_a_legal_hold_the_systems_are_excepted_and_run_when_it_is_released(
    db: Session,
    ctx: RequestContext,
    sessions: sessionmaker[Session],
    shop_db: str,
    newsletter: Service,
    clock: FakeClock,
) -> None:
    from tests.holds.conftest import hold

    subject = _customer(db, ctx, shop_db, newsletter)
    placed = hold(db, clock, subject, basis="COURT_ORDER", reference="3-O-7-26")
    request_id = verified(db, ctx, subject, "deletion", ground=GROUND)
    approve(db, ctx, request_id, actor=STAFF)
    tasks = _tasks(db, request_id)
    assert _run(ctx, sessions, tasks["newsletter"]) == "excepted"
    assert _tasks(db, request_id)["newsletter"].exception == "legal_hold"
    assert newsletter.state.calls == []
    holds.release(db, clock, placed.id, actor=STAFF)
    erase_for_request(db, ctx, ctx.require_services().keys, request_id, actor=STAFF)
    assert _tasks(db, request_id)["newsletter"].state == "pending"
    assert _run(ctx, sessions, tasks["newsletter"]) == "done"
    assert _run(ctx, sessions, tasks["shop"]) == "done"
    assert svc.get(db, request_id).closed_at is None
    desk.record_outcome(
        db, ctx, request_id, "tickets", outcome="not_found", evidence="S-2", actor=STAFF
    )
    db.expire_all()
    assert svc.get(db, request_id).status.value == "completed"


def test_the_desk_refuses_bad_outcomes_and_re_runs_only_when_something_failed(
    db: Session, ctx: RequestContext, shop_db: str, newsletter: Service
) -> None:
    from doorstep.core.errors import ConflictError, InvalidInputError

    subject = _customer(db, ctx, shop_db, newsletter)
    request_id = verified(db, ctx, subject, "deletion", ground=GROUND)
    approve(db, ctx, request_id, actor=STAFF)
    with pytest.raises(InvalidInputError):
        desk.record_outcome(
            db, ctx, request_id, "tickets", outcome="done", evidence="no spaces!", actor=STAFF
        )
    with pytest.raises(InvalidInputError):
        desk.record_outcome(
            db, ctx, request_id, "tickets", outcome="maybe", evidence="T-1", actor=STAFF
        )
    with pytest.raises(ConflictError):  # an automated system is not the desk's to record
        desk.record_outcome(
            db, ctx, request_id, "shop", outcome="done", evidence="T-1", actor=STAFF
        )
    with pytest.raises(ConflictError):
        desk.rerun(db, ctx, request_id, actor=STAFF)
    assert _tasks(db, request_id)["tickets"].state == "waiting"
