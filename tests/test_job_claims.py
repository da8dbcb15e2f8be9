"""Jobs start on NOTIFY, and a process may do a waiting job's work itself (decision 0046)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from typing import Any

import psycopg
import pytest
import sqlalchemy as sa
from procrastinate.manager import JobManager

from doorstep.core.database import libpq_url
from doorstep.core.runtime import Runtime
from doorstep.jobs import enqueue
from doorstep.jobs.claim import claim, finish, waiting, wake
from doorstep.jobs.worker import run_worker
from doorstep.privacy.subjects.models import Subject, SubjectKind
from tests.test_jobs import _drain, _jobs

TASK = "tests.mark_subject"  # declared in tests/test_jobs.py: adds a Subject row


def _listening(runtime: Runtime) -> bool:
    with runtime.engine.connect() as connection:
        return bool(
            connection.scalar(
                sa.text(
                    "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                    "AND query LIKE 'LISTEN %'"
                )
            )
        )


@contextmanager
def _worker_in_background(runtime: Runtime) -> Iterator[None]:
    """A worker waiting for jobs in a thread of its own, stopped on exit."""
    loop = asyncio.new_event_loop()
    task: list[asyncio.Task[None]] = []

    async def main() -> None:
        task.append(asyncio.current_task())  # type: ignore[arg-type]
        with contextlib.suppress(asyncio.CancelledError):  # how the test stops it
            await run_worker(runtime, install_signal_handlers=False, name="tests-notify")

    thread = threading.Thread(target=lambda: loop.run_until_complete(main()), daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 30
        while not _listening(runtime):
            assert thread.is_alive(), "the worker stopped"
            assert time.monotonic() < deadline, "the worker never listened"
            time.sleep(0.02)
        yield
    finally:
        loop.call_soon_threadsafe(task[0].cancel)
        thread.join(30)
        loop.close()


def _status(runtime: Runtime, job_id: int) -> str:
    with runtime.engine.connect() as connection:
        return str(
            connection.scalar(
                sa.text("SELECT status FROM procrastinate_jobs WHERE id = :id"), {"id": job_id}
            )
        )


def test_a_new_job_starts_on_its_notify_not_at_the_workers_next_poll(committed: Runtime) -> None:
    slow_poll = replace(
        committed, settings=committed.settings.model_copy(update={"worker_poll_seconds": 60.0})
    )
    target = uuid.uuid4()
    with _worker_in_background(slow_poll):
        time.sleep(0.5)  # past the worker's first look at the queue: only a NOTIFY wakes it now
        with committed.sessions.begin() as session:
            job_id = enqueue(session, TASK, subject_id=target)
        deadline = time.monotonic() + 10  # generous; the poll would take 60 s
        while _status(committed, job_id) != "succeeded":
            assert time.monotonic() < deadline, "the job waited for the worker's poll"
            time.sleep(0.02)
    with committed.sessions() as session:
        assert session.get(Subject, target) is not None


def test_a_job_committed_while_a_fetch_finds_nothing_is_not_left_for_the_poll(
    committed: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The NOTIFY of a job committed during an empty fetch still wakes the worker.

    Procrastinate 3.10 clears its wake-up *after* each fetch, so such a job waited
    for the next poll.  The fetch is slowed here, once, to make the moment certain:
    the job commits and its NOTIFY reaches the worker before the fetch returns empty.
    """
    slow_poll = replace(
        committed, settings=committed.settings.model_copy(update={"worker_poll_seconds": 60.0})
    )
    armed, target, committed_ids = threading.Event(), uuid.uuid4(), []
    fetch = JobManager.fetch_job

    async def fetch_while_a_job_commits(self: JobManager, **kwargs: Any) -> Any:
        found = await fetch(self, **kwargs)
        if found is None and armed.is_set():
            armed.clear()
            with committed.sessions.begin() as session:
                committed_ids.append(enqueue(session, TASK, subject_id=target))
            await asyncio.sleep(0.5)  # the listener hears the NOTIFY meanwhile
        return found

    monkeypatch.setattr(JobManager, "fetch_job", fetch_while_a_job_commits)
    with _worker_in_background(slow_poll):
        time.sleep(0.5)  # past the worker's first look at the queue
        with committed.sessions.begin() as session:
            enqueue(session, TASK, subject_id=uuid.uuid4())  # wakes it: one run, one empty fetch
            armed.set()
        deadline = time.monotonic() + 10  # generous; the poll would take 60 s
        while not committed_ids or _status(committed, committed_ids[0]) != "succeeded":
            assert time.monotonic() < deadline, f"job {committed_ids} waited for the poll"
            time.sleep(0.02)


def test_a_claimed_job_is_no_workers_and_ends_with_the_claimants_commit(
    committed: Runtime,
) -> None:
    target = uuid.uuid4()
    with committed.sessions.begin() as session:
        job_id = enqueue(session, TASK, queueing_lock=f"{TASK}:{target}", subject_id=target)
    with committed.sessions() as session, session.begin():
        claimed = claim(session, TASK, f"{TASK}:{target}", statement_timeout_ms=1234)
        assert claimed is not None and claimed.job_id == job_id
        assert session.scalar(sa.text("SHOW statement_timeout")) == "1234ms", "bounded"
        assert _status(committed, job_id) == "todo", "others see it waiting until the commit"
        _drain(committed)  # a worker passes by while the claim is open: it must skip the job
        session.add(Subject(id=target, kind=SubjectKind.STAFF))
        finish(session, claimed)
        assert session.scalar(sa.text("SHOW statement_timeout")) == claimed.statement_timeout
    (row,) = _jobs(committed, TASK)
    assert (row.id, row.status, row.attempts) == (job_id, "succeeded", 1)
    with committed.engine.connect() as connection:
        events = connection.scalars(
            sa.text("SELECT type FROM procrastinate_events WHERE job_id = :id ORDER BY id"),
            {"id": job_id},
        ).all()
    assert events == ["deferred", "started", "succeeded"]
    with committed.sessions() as session:
        assert session.get(Subject, target) is not None, "done once, by the claimant"


def test_a_rolled_back_claim_leaves_the_job_waiting_for_the_workers(committed: Runtime) -> None:
    target = uuid.uuid4()
    lock = f"{TASK}:{target}"
    with committed.sessions.begin() as session:
        job_id = enqueue(session, TASK, queueing_lock=lock, subject_id=target)
    with committed.sessions() as session, session.begin():
        claimed = claim(session, TASK, lock)
        assert claimed is not None and claimed.job_id == job_id
        session.rollback()  # the work failed, or ran out of time
    with committed.sessions() as session:
        assert waiting(session, TASK, lock) == job_id
    _drain(committed)
    assert _status(committed, job_id) == "succeeded"
    with committed.sessions() as session:
        assert session.get(Subject, target) is not None


def test_nothing_to_claim_when_a_worker_has_the_job_or_it_is_for_later(
    committed: Runtime,
) -> None:
    taken, later = uuid.uuid4(), uuid.uuid4()
    with committed.sessions.begin() as session:
        taken_id = enqueue(session, TASK, queueing_lock=f"{TASK}:{taken}", subject_id=taken)
        later_id = enqueue(session, TASK, queueing_lock=f"{TASK}:{later}", subject_id=later)
        session.execute(
            sa.text("UPDATE procrastinate_jobs SET status = 'doing' WHERE id = :id"),
            {"id": taken_id},
        )
        session.execute(  # the database's clock: the test's fake clock is in the past
            sa.text(
                "UPDATE procrastinate_jobs SET scheduled_at = now() + interval '1 day' "
                "WHERE id = :id"
            ),
            {"id": later_id},
        )
    with committed.sessions.begin() as session:
        assert claim(session, TASK, f"{TASK}:{taken}") is None
        assert claim(session, TASK, f"{TASK}:{later}") is None
        assert claim(session, "tests.flaky", f"{TASK}:{taken}") is None, "another task's lock"


def test_wake_tells_the_workers_of_a_waiting_job_only(committed: Runtime) -> None:
    with committed.sessions.begin() as session:
        job_id = enqueue(session, TASK, subject_id=uuid.uuid4())
        done_id = enqueue(session, TASK, subject_id=uuid.uuid4())
        session.execute(
            sa.text("UPDATE procrastinate_jobs SET status = 'succeeded' WHERE id = :id"),
            {"id": done_id},
        )
    with psycopg.connect(libpq_url(committed.database_url), autocommit=True) as listener:
        listener.execute("LISTEN procrastinate_any_queue_v1")
        with committed.sessions.begin() as session:
            wake(session, job_id)
            wake(session, done_id)
        heard = [json.loads(note.payload) for note in listener.notifies(timeout=2, stop_after=2)]
    assert heard == [{"type": "job_inserted", "job_id": job_id}]
