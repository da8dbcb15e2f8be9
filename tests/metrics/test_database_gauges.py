"""The gauges read from the database at scrape time: queues, devices, operations, deadlines."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

import sqlalchemy as sa
from prometheus_client import generate_latest
from sqlalchemy.orm import Session

from doorstep.core.clock import FakeClock
from doorstep.core.database import create_db_engine, make_session_factory
from doorstep.core.runtime import Runtime
from doorstep.jobs.enqueue import enqueue
from doorstep.metrics import DatabaseCollector
from doorstep.privacy.requests import services as svc
from doorstep.privacy.requests.context import RequestContext
from doorstep.wiring import build_services
from tests.devices.fleet_rows import add_devices
from tests.metrics.helpers import value, with_settings

QUEUE = "metrics-test"
TASK = "doorstep.jobs.recover_stalled"
STAFF = "staff:" + str(uuid.UUID(int=7))


def _scrape(runtime: Runtime) -> str:
    """One fresh read (no cache) of the database gauges, as text."""
    return generate_latest(
        DatabaseCollector(with_settings(runtime, metrics_cache_seconds=0))
    ).decode()


def test_queue_depth_and_oldest_job_reflect_the_queued_jobs(db: Session, runtime: Runtime) -> None:
    before = _scrape(runtime)
    assert value(before, "doorstep_job_queue_depth", queue=QUEUE, state="todo") is None
    db_now: datetime = db.scalar(sa.text("SELECT now()"))
    enqueue(db, TASK, queue=QUEUE)
    enqueue(db, TASK, queue=QUEUE)
    enqueue(db, TASK, queue=QUEUE, scheduled_at=db_now - timedelta(hours=1))
    enqueue(db, TASK, queue=QUEUE, scheduled_at=db_now + timedelta(hours=1))
    db.flush()

    text = _scrape(runtime)
    assert value(text, "doorstep_job_queue_depth", queue=QUEUE, state="todo") == 3
    assert value(text, "doorstep_job_queue_depth", queue=QUEUE, state="scheduled") == 1
    age = value(text, "doorstep_job_oldest_age_seconds", queue=QUEUE)
    assert age is not None and 3600 <= age < 3700  # the job due an hour ago
    # Declared queues are reported at zero rather than missing.
    assert value(text, "doorstep_job_queue_depth", queue="default", state="doing") == 0


def test_devices_registered_and_online(db: Session, runtime: Runtime) -> None:
    before = _scrape(runtime)
    online0 = value(before, "doorstep_devices_online", product_type="gateway")
    registered0 = value(before, "doorstep_devices_registered", product_type="gateway")
    assert online0 is not None and registered0 is not None
    now = runtime.clock.now()
    add_devices(db, 3, now=now, product="gateway", online=True)
    add_devices(db, 2, now=now, product="gateway", online=False)
    db.flush()
    text = _scrape(runtime)
    assert value(text, "doorstep_devices_online", product_type="gateway") == online0 + 3
    assert value(text, "doorstep_devices_registered", product_type="gateway") == registered0 + 5


def test_requests_at_risk_and_overdue(db: Session, runtime: Runtime, clock: FakeClock) -> None:
    ctx = RequestContext.of(build_services(runtime))
    subject = uuid.uuid4()
    db.execute(
        sa.text("INSERT INTO subjects (id, kind, created_at) VALUES (:id, 'subscriber', :at)"),
        {"id": subject, "at": clock.now()},
    )
    row = svc.open_request(db, ctx, subject_id=subject, kind="access", channel="app", actor=STAFF)
    svc.verify(db, ctx, row.id, method="session", actor=STAFF)
    db.flush()
    due = row.due_at

    def counts() -> tuple[float | None, float | None]:
        text = _scrape(runtime)
        return (
            value(text, "doorstep_requests_due_soon", kind="access"),
            value(text, "doorstep_requests_overdue", kind="access"),
        )

    assert counts() == (0, 0)
    clock.set(due - timedelta(days=3, hours=1))  # just outside metrics_deadline_days (3)
    assert counts() == (0, 0)
    clock.set(due - timedelta(days=2))
    assert counts() == (1, 0)
    clock.set(due + timedelta(minutes=1))
    assert counts() == (0, 1)


def test_the_database_is_read_once_per_cache_period(runtime: Runtime) -> None:
    ticks = [100.0]
    collector = DatabaseCollector(
        with_settings(runtime, metrics_cache_seconds=5), monotonic=lambda: ticks[0]
    )
    generate_latest(collector)
    generate_latest(collector)
    assert collector.reads == 1
    ticks[0] += 5
    generate_latest(collector)
    assert collector.reads == 2


def test_an_unreachable_database_gives_a_scrape_that_says_so(runtime: Runtime) -> None:
    engine = create_db_engine(
        "postgresql://postgres@127.0.0.1:1/nowhere?connect_timeout=2", pool_size=1
    )
    try:
        down = Runtime(
            settings=runtime.settings,
            database_url="postgresql://postgres@127.0.0.1:1/nowhere",
            engine=engine,
            sessions=make_session_factory(engine, runtime.clock),
            clock=runtime.clock,
        )
        text = _scrape(down)
    finally:
        engine.dispose()
    assert value(text, "doorstep_metrics_database_up") == 0
    assert value(text, "doorstep_job_queue_depth", queue="default", state="todo") is None
