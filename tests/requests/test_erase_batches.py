"""One erase job carries several deletion requests (decision 0051), each answered exactly once."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from doorstep.core.clock import FakeClock
from doorstep.core.runtime import Runtime
from doorstep.jobs.registry import JobContext
from doorstep.keys.services import KeyService
from doorstep.privacy.requests.context import RequestContext
from doorstep.privacy.requests.erasure_requests import ErasureFailedError
from doorstep.privacy.requests.fulfil import ERASE_TASK, approve
from doorstep.privacy.requests.models import RequestStatus, SubjectRequest
from doorstep.privacy.requests.tasks import erase
from doorstep.privacy.subjects.models import Subject
from tests.requests.conftest import STAFF, new_account, refuse_erasure_of, verified

GROUND = "NO_LONGER_USED_OR_ACCOUNT_CANCELLED"


def _approved(db: Session, ctx: RequestContext, keys: KeyService, clock: FakeClock) -> uuid.UUID:
    subject = new_account(db, keys, clock, f"token-{uuid.uuid4().hex[:8]}")
    request_id = verified(db, ctx, subject, "deletion", ground=GROUND)
    approve(db, ctx, request_id, actor=STAFF)
    return request_id


def _job(db: Session, request_id: uuid.UUID) -> Any:
    return db.execute(
        sa.text(
            "SELECT id, status::text AS status, "
            "array(SELECT type::text FROM procrastinate_events e WHERE e.job_id = j.id "
            "ORDER BY e.id) AS events FROM procrastinate_jobs j WHERE queueing_lock = :lock"
        ),
        {"lock": f"{ERASE_TASK}:{request_id}"},
    ).one()


def _fetched(db: Session, request_id: uuid.UUID) -> int:
    """Mark the request's job as a worker's fetch does; its id."""
    job_id = int(_job(db, request_id).id)
    db.execute(
        sa.text("UPDATE procrastinate_jobs SET status = 'doing' WHERE id = :j"), {"j": job_id}
    )
    return job_id


def _completions(db: Session, request_id: uuid.UUID) -> int:
    return int(
        db.execute(
            sa.text(
                "SELECT count(*) FROM audit_events WHERE action = 'request.completed' "
                "AND details->>'request' = :r"
            ),
            {"r": str(request_id)},
        ).scalar_one()
    )


def test_one_job_carries_out_the_waiting_deletion_requests_with_its_own(
    db: Session, runtime: Runtime, ctx: RequestContext, keys: KeyService, clock: FakeClock
) -> None:
    lead, *others = [_approved(db, ctx, keys, clock) for _ in range(4)]
    db.commit()
    job_id = _fetched(db, lead)

    assert erase(JobContext(runtime, job_id, attempt=1), str(lead)) is True

    db.expire_all()
    for request_id in (lead, *others):
        row = db.get(SubjectRequest, request_id)
        assert row is not None and row.status is RequestStatus.COMPLETED
        assert db.get(Subject, row.subject_id) is None
        assert keys.keyring.is_destroyed(row.subject_id)
        assert _completions(db, request_id) == 1
    for request_id in others:  # done with the lead, recorded as a worker records a job
        job = _job(db, request_id)
        assert job.status == "succeeded" and job.events[-1] == "succeeded"
    assert _job(db, lead).status == "doing"  # the worker that runs it finishes it


def test_the_batch_is_bounded_by_the_setting(
    db: Session, runtime: Runtime, ctx: RequestContext, keys: KeyService, clock: FakeClock
) -> None:
    lead, *others = [_approved(db, ctx, keys, clock) for _ in range(4)]
    db.commit()
    two = runtime.settings.model_copy(update={"requests_erase_batch": 2})
    batched = Runtime(two, runtime.database_url, runtime.engine, runtime.sessions, runtime.clock)

    erase(JobContext(batched, _fetched(db, lead), attempt=1), str(lead))

    db.expire_all()
    assert [_job(db, request_id).status for request_id in others] == ["succeeded", "todo", "todo"]


def test_a_failed_batch_keeps_nothing_its_jobs_wait_again_and_the_retry_runs_alone(
    db: Session, runtime: Runtime, ctx: RequestContext, keys: KeyService, clock: FakeClock
) -> None:
    lead, stuck, other = [_approved(db, ctx, keys, clock) for _ in range(3)]
    stuck_subject = db.get(SubjectRequest, stuck)
    assert stuck_subject is not None
    refuse_erasure_of(db, stuck_subject.subject_id)
    db.commit()
    job_id = _fetched(db, lead)

    with pytest.raises(ErasureFailedError):
        erase(JobContext(runtime, job_id, attempt=1), str(lead))

    db.expire_all()
    for request_id in (lead, stuck, other):
        row = db.get(SubjectRequest, request_id)
        assert row is not None and row.status is RequestStatus.IN_PROGRESS
        assert db.get(Subject, row.subject_id) is not None
        assert _completions(db, request_id) == 0
    assert _job(db, stuck).status == "todo" and _job(db, other).status == "todo"

    assert erase(JobContext(runtime, job_id, attempt=2), str(lead)) is True  # alone

    db.expire_all()
    assert _completions(db, lead) == 1
    assert _job(db, stuck).status == "todo" and _job(db, other).status == "todo"
    assert _completions(db, other) == 0
