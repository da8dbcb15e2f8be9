"""Jobs: enqueued in the caller's transaction, run by real workers, retried with backoff."""

from __future__ import annotations

import asyncio
import uuid
from datetime import timedelta

import pytest
import sqlalchemy as sa

from doorstep.core.runtime import Runtime
from doorstep.jobs import JobContext, enqueue, job
from doorstep.jobs.enqueue import UnsafeJobArgumentError
from doorstep.jobs.housekeeping import prune_finished_jobs
from doorstep.jobs.registry import declared_tasks
from doorstep.jobs.worker import build_job_app, run_worker
from doorstep.privacy.subjects.models import Subject, SubjectKind

ATTEMPTS: dict[str, int] = {}


@job("tests.mark_subject", max_attempts=1)
def mark_subject(ctx: JobContext, subject_id: str) -> None:
    with ctx.runtime.sessions.begin() as session:
        session.add(Subject(id=uuid.UUID(subject_id), kind=SubjectKind.STAFF))


@job("tests.flaky", max_attempts=3, backoff_seconds=2)
def flaky(ctx: JobContext, key: str) -> str:
    ATTEMPTS[key] = ctx.attempt
    if ctx.attempt < 3:
        raise RuntimeError("passing failure")
    return "ok"


def _jobs(runtime: Runtime, task: str) -> list[sa.Row[tuple[object, ...]]]:
    with runtime.engine.connect() as connection:
        return list(
            connection.execute(
                sa.text(
                    "SELECT id, status, attempts, args, scheduled_at FROM procrastinate_jobs "
                    "WHERE task_name = :task ORDER BY id"
                ),
                {"task": task},
            )
        )


def _drain(runtime: Runtime) -> None:
    asyncio.run(run_worker(runtime, wait=False, install_signal_handlers=False, concurrency=2))


def test_a_rolled_back_change_leaves_no_job(committed: Runtime) -> None:
    subject_id = uuid.uuid4()
    with pytest.raises(RuntimeError, match="crash"), committed.sessions.begin() as session:
        session.add(Subject(id=subject_id, kind=SubjectKind.SUBSCRIBER))
        enqueue(session, "tests.mark_subject", subject_id=uuid.uuid4())
        raise RuntimeError("crash after the change and the enqueue")
    assert _jobs(committed, "tests.mark_subject") == []
    with committed.sessions() as session:
        assert session.get(Subject, subject_id) is None


def test_a_committed_change_has_its_job(committed: Runtime) -> None:
    target = uuid.uuid4()
    with committed.sessions.begin() as session:
        session.add(Subject(id=uuid.uuid4(), kind=SubjectKind.SUBSCRIBER))
        job_id = enqueue(session, "tests.mark_subject", subject_id=target)
    rows = _jobs(committed, "tests.mark_subject")
    assert [(row.id, row.status, row.args) for row in rows] == [
        (job_id, "todo", {"subject_id": str(target)})
    ]


def test_a_worker_runs_the_job_once(committed: Runtime) -> None:
    target = uuid.uuid4()
    with committed.sessions.begin() as session:
        enqueue(session, "tests.mark_subject", subject_id=target)
    _drain(committed)
    _drain(committed)  # a second pass finds nothing left to do
    assert [row.status for row in _jobs(committed, "tests.mark_subject")] == ["succeeded"]
    with committed.sessions() as session:
        assert session.get(Subject, target) is not None


def test_a_failing_job_is_retried_with_growing_waits(committed: Runtime) -> None:
    with committed.sessions.begin() as session:
        enqueue(session, "tests.flaky", key="k1")
    waits = []
    for expected_attempt in (1, 2):
        _drain(committed)
        (row,) = _jobs(committed, "tests.flaky")
        assert ATTEMPTS["k1"] == expected_attempt
        assert row.status == "todo", "a failed attempt must be rescheduled, not dropped"
        with committed.engine.connect() as connection:
            now = connection.execute(sa.text("SELECT now()")).scalar_one()
        waits.append(row.scheduled_at - now)
        # Bring the retry forward instead of sleeping through the backoff.
        with committed.engine.begin() as connection:
            connection.execute(
                sa.text("UPDATE procrastinate_jobs SET scheduled_at = now() WHERE id = :id"),
                {"id": row.id},
            )
    assert waits[0] > timedelta(0)
    assert waits[1] > waits[0], f"backoff must grow: {waits}"
    _drain(committed)
    (row,) = _jobs(committed, "tests.flaky")
    assert (row.status, ATTEMPTS["k1"]) == ("succeeded", 3)


@pytest.mark.parametrize(
    "value",
    [
        "someone@example.com",
        "+44 20 7946 0958",
        "a free text with spaces",
        "x" * 200,
        1.5,
        {"a": 1},
    ],
)
def test_job_arguments_must_be_ids(db: object, value: object) -> None:
    from sqlalchemy.orm import Session

    assert isinstance(db, Session)
    with pytest.raises(UnsafeJobArgumentError, match="'subject_id'"):
        enqueue(db, "tests.mark_subject", subject_id=value)


def test_unknown_tasks_are_refused(db: object) -> None:
    from sqlalchemy.orm import Session

    assert isinstance(db, Session)
    with pytest.raises(ValueError, match="unknown task"):
        enqueue(db, "tests.no_such_task", subject_id=1)


def test_periodic_tasks_are_registered(runtime: Runtime) -> None:
    app = build_job_app(runtime)
    periodic = {
        task.periodic_id: task.cron for task in app.periodic_registry.periodic_tasks.values()
    }
    assert periodic["doorstep.jobs.prune_finished_jobs"] == "17 * * * *"
    assert set(declared_tasks()) <= set(app.tasks)


def test_prune_keeps_jobs_until_the_cutoff(runtime: Runtime) -> None:
    """Finished jobs one hour younger than the period stay; one hour older go."""
    period = timedelta(days=runtime.settings.job_retention_days)
    now = runtime.clock.now()
    with runtime.sessions.begin() as session:
        young = enqueue(session, "tests.mark_subject", subject_id=1)
        old = enqueue(session, "tests.mark_subject", subject_id=2)
        waiting = enqueue(session, "tests.mark_subject", subject_id=3)
        session.execute(
            sa.text("UPDATE procrastinate_jobs SET status = 'succeeded' WHERE id = ANY(:ids)"),
            {"ids": [young, old]},
        )
        for job_id, finished_at in (
            (young, now - period + timedelta(hours=1)),
            (old, now - period - timedelta(hours=1)),
            (waiting, now - period * 3),
        ):
            session.execute(
                sa.text("UPDATE procrastinate_events SET at = :at WHERE job_id = :id"),
                {"at": finished_at, "id": job_id},
            )
    context = JobContext(runtime=runtime, job_id=None, attempt=1)
    assert prune_finished_jobs(context) == 1
    assert prune_finished_jobs(context) == 0, "pruning is idempotent"
    with runtime.sessions() as session:
        left = (
            session.execute(
                sa.text("SELECT id FROM procrastinate_jobs WHERE id = ANY(:ids) ORDER BY id"),
                {"ids": [young, old, waiting]},
            )
            .scalars()
            .all()
        )
    assert left == sorted([young, waiting])


def test_jobs_of_a_dead_worker_go_back_in_the_queue_and_a_live_workers_stay(
    committed: Runtime,
) -> None:
    from doorstep.jobs.stalled import recover_stalled_jobs

    with committed.sessions.begin() as session:
        dead_job = enqueue(session, "tests.mark_subject", subject_id=uuid.uuid4())
        live_job = enqueue(session, "tests.mark_subject", subject_id=uuid.uuid4())
        dead, live = (
            session.execute(
                sa.text(
                    "INSERT INTO procrastinate_workers (last_heartbeat) "
                    "VALUES (now() - interval '1 hour'), (now()) RETURNING id"
                )
            )
            .scalars()
            .all()
        )
        for job, worker in ((dead_job, dead), (live_job, live)):
            session.execute(
                sa.text(
                    "UPDATE procrastinate_jobs SET status = 'doing', worker_id = :w WHERE id = :j"
                ),
                {"w": worker, "j": job},
            )
    assert recover_stalled_jobs(committed) == 1
    assert recover_stalled_jobs(committed) == 0
    statuses = {
        row.id: (row.status, row.attempts) for row in _jobs(committed, "tests.mark_subject")
    }
    assert statuses == {dead_job: ("todo", 1), live_job: ("doing", 0)}
