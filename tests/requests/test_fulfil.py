"""Approving requests: restrictions, objections and withdrawals reach the gate; erasure is a job."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from doorstep.core.clock import FakeClock
from doorstep.core.runtime import Runtime
from doorstep.jobs.registry import JobContext
from doorstep.privacy.consent.services import grant
from doorstep.privacy.datamap.pack import default_pack
from doorstep.privacy.purposes import PurposeGate
from doorstep.privacy.requests import services as svc
from doorstep.privacy.requests.context import RequestContext
from doorstep.privacy.requests.fulfil import ERASE_TASK, approve
from doorstep.privacy.requests.models import RequestKind, RequestStatus
from doorstep.privacy.requests.tasks import erase
from doorstep.privacy.subjects.models import Subject
from doorstep.schema import metadata
from tests.packs import reference_terms
from tests.requests.conftest import STAFF, new_subject, verified

GATE = PurposeGate.from_datamap(metadata, default_pack())


@pytest.mark.clause("CORP-4.3")
@pytest.mark.parametrize("kind", [RequestKind.RESTRICTION, RequestKind.OBJECTION])
def test_the_gate_refuses_the_purpose_from_the_moment_the_request_completes(
    db: Session, ctx: RequestContext, kind: RequestKind
) -> None:
    subject = new_subject(db)
    request_id = verified(db, ctx, subject, kind, purpose="notification.delivery")
    element, purpose = "outbox.email", "notification.delivery"
    assert GATE.for_subject(db, subject, actor=STAFF).allows(element, purpose)
    done = approve(db, ctx, request_id, actor=STAFF)
    assert done.status is RequestStatus.COMPLETED
    assert not GATE.for_subject(db, subject, actor=STAFF).allows(element, purpose)
    assert db.get(Subject, subject) is not None  # storage continues


@pytest.mark.clause("CPE-V.4.d")
@pytest.mark.clause("CPE-V.4.e")
def test_a_withdrawal_request_withdraws_the_consent(
    db: Session, ctx: RequestContext, clock: FakeClock
) -> None:
    subject = new_subject(db)
    purpose = "account.profile"
    grant(
        db,
        subject_id=subject,
        purpose=purpose,
        channel="app",
        notice_text="v1",
        clock=clock,
        terms=reference_terms(),
    )
    element = "account_profiles.nickname"
    assert GATE.for_subject(db, subject, actor=STAFF).allows(element, purpose)
    request_id = verified(db, ctx, subject, RequestKind.CONSENT_WITHDRAWAL, purpose=purpose)
    row = svc.get(db, request_id)
    assert row.due_at == row.received_at + timedelta(days=30)
    approve(db, ctx, request_id, actor=STAFF)
    assert not GATE.for_subject(db, subject, actor=STAFF).allows(element, purpose)


def test_an_approved_deletion_is_queued_and_the_job_completes_it(
    db: Session, ctx: RequestContext, runtime: Runtime
) -> None:
    subject = new_subject(db)
    request_id = verified(
        db, ctx, subject, RequestKind.DELETION, ground="NO_LONGER_USED_OR_ACCOUNT_CANCELLED"
    )
    approve(db, ctx, request_id, actor=STAFF)
    queued = (
        db.execute(
            sa.text("SELECT args FROM procrastinate_jobs WHERE task_name = :t"), {"t": ERASE_TASK}
        )
        .scalars()
        .all()
    )
    assert queued == [{"request_id": str(request_id)}]
    db.commit()
    assert erase(JobContext(runtime, None, 1), request_id=str(request_id)) is True
    db.expire_all()
    assert db.get(Subject, subject) is None
    assert svc.get(db, request_id).status is RequestStatus.COMPLETED


@pytest.mark.clause("CPE-V.6.b")
def test_the_periodic_job_reminds_and_escalates(
    db: Session, ctx: RequestContext, runtime: Runtime, clock: FakeClock
) -> None:
    from doorstep.privacy.requests.tasks import remind_deadlines

    subject = new_subject(db)
    request_id = verified(db, ctx, subject, RequestKind.ACCESS)
    db.commit()
    clock.advance(timedelta(days=30, hours=1))
    assert remind_deadlines(JobContext(runtime, None, 1), timestamp=0) == 2
    assert remind_deadlines(JobContext(runtime, None, 1), timestamp=0) == 0
    db.expire_all()
    row = svc.get(db, request_id)
    assert row.reminded_at is not None and row.escalated_at is not None
