"""Inquiries: owned by the department's queue, due 30 days after receipt, reminded, flagged
overdue, answered once by e-mail, and what the asker wrote is stored sealed."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from doorstep.audit.services import flush_events
from doorstep.core.clock import FakeClock
from doorstep.core.errors import ConflictError, InvalidInputError
from doorstep.keys.services import KeyService
from doorstep.privacy.requests.context import RequestContext
from doorstep.privacy.requests.inquiries import desk, intake
from doorstep.privacy.requests.inquiries.models import Inquiry, InquiryChannel
from doorstep.privacy.subjects.models import Subject, SubjectKind
from tests.requests.conftest import STAFF, actions, new_account

DEPARTMENT = "ZTE Data Protection Compliance Department"


def _outbox(db: Session, subject: uuid.UUID) -> list[sa.Row[tuple[str, str | None, object]]]:
    return list(
        db.execute(
            sa.text(
                "SELECT template, email, params FROM outbox "
                "WHERE subject_id = :s ORDER BY created_at"
            ),
            {"s": subject},
        )
    )


def _raw(db: Session, inquiry: uuid.UUID) -> bytes:
    row = db.execute(
        sa.text("SELECT reply_to, title, body FROM inquiries WHERE id = :id"), {"id": inquiry}
    ).one()
    return b"".join(value or b"" for value in row)


@pytest.mark.clause("CPE-IX.2")
def test_a_question_from_the_app_is_due_thirty_days_after_receipt_and_acknowledged(
    db: Session, ctx: RequestContext, keys: KeyService, clock: FakeClock
) -> None:
    subject = new_account(db, keys, clock, "t1")
    row = intake.submit_signed_in(
        db, ctx, subject_id=subject, title="Cookies", body="Which cookies does the app set?"
    )
    assert row.channel is InquiryChannel.APP
    assert row.received_at == clock.now()
    assert row.due_at == clock.now() + timedelta(days=30)
    ((template, address, params),) = _outbox(db, subject)
    assert template == "inquiry.received"
    assert address == f"{subject.hex[:12]}@example.org"
    assert params == {"reference": str(row.id), "due": row.due_at.date().isoformat()}
    assert "inquiry.received" in actions(db, subject)


@pytest.mark.clause("CPE-IX.1")
def test_every_inquiry_is_assigned_to_the_departments_queue_at_intake(
    db: Session, ctx: RequestContext, keys: KeyService, clock: FakeClock
) -> None:
    subject = new_account(db, keys, clock, "t2")
    asked = intake.submit_signed_in(db, ctx, subject_id=subject, title=None, body="A question")
    public = intake.submit_public(
        db, ctx, email=f"someone.{uuid.uuid4().hex[:8]}@example.org", title=None, body="Another"
    )
    flush_events(db)
    for row in (asked, public):
        assert row.queue == "dpo"
        events = db.execute(
            sa.text(
                "SELECT details->>'queue' FROM audit_events "
                "WHERE action = 'inquiry.received' AND details->>'inquiry' = :id"
            ),
            {"id": str(row.id)},
        ).scalars()
        assert list(events) == ["dpo"]
    from doorstep.privacy.requests.department import owner_of

    assert owner_of(ctx.policy, "dpo") == DEPARTMENT


def test_a_public_question_belongs_to_a_correspondent_and_is_stored_sealed(
    db: Session, ctx: RequestContext
) -> None:
    address = f"writer.{uuid.uuid4().hex[:8]}@example.org"
    row = intake.submit_public(
        db, ctx, email=address, title="Marketing", body="Do you sell my data? canary-q1"
    )
    subject = db.get(Subject, row.subject_id)
    assert subject is not None and subject.kind is SubjectKind.CORRESPONDENT
    stored = _raw(db, row.id)
    for plain in (address.encode(), b"canary-q1", b"Marketing"):
        assert plain not in stored
    question = desk.read(db, ctx, row.id, actor=STAFF)
    assert (question.title, question.body) == ("Marketing", "Do you sell my data? canary-q1")
    ((template, to, _),) = _outbox(db, row.subject_id)
    assert (template, to) == ("inquiry.received", address)


def test_a_public_question_from_an_accounts_address_belongs_to_that_account(
    db: Session, ctx: RequestContext, keys: KeyService, clock: FakeClock
) -> None:
    subject = new_account(db, keys, clock, "t3")
    row = intake.submit_public(
        db, ctx, email=f"{subject.hex[:12]}@EXAMPLE.org", title=None, body="Hello"
    )
    assert row.subject_id == subject


@pytest.mark.parametrize(
    ("title", "body", "field"),
    [(None, "   ", "body"), (None, "x" * 10_001, "body"), ("t" * 201, "fine", "title")],
)
def test_a_bad_question_is_refused_and_nothing_is_written(
    db: Session, ctx: RequestContext, title: str | None, body: str, field: str
) -> None:
    before = db.scalar(sa.select(sa.func.count()).select_from(Inquiry))
    with pytest.raises(InvalidInputError) as refused:
        intake.submit_public(db, ctx, email="someone@example.org", title=title, body=body)
    assert refused.value.fields["errors"][0]["field"] == field
    assert db.scalar(sa.select(sa.func.count()).select_from(Inquiry)) == before


@pytest.mark.clause("CPE-IX.2")
def test_the_desk_is_reminded_then_the_unanswered_inquiry_is_flagged_overdue(
    db: Session, ctx: RequestContext, clock: FakeClock
) -> None:
    row = intake.submit_public(db, ctx, email="late@example.org", title=None, body="Hello?")
    assert desk.remind(db, ctx) == (0, 0)
    clock.advance(timedelta(days=23, hours=1))
    assert desk.remind(db, ctx) == (1, 0)
    assert not desk.is_overdue(row, clock.now())
    clock.advance(timedelta(days=7))
    assert desk.is_overdue(row, clock.now())
    assert desk.remind(db, ctx) == (0, 1)
    assert desk.remind(db, ctx) == (0, 0), "once each"
    assert [r.id for r in desk.queue(db, clock.now(), overdue_only=True)] == [row.id]
    assert {"inquiry.reminder", "inquiry.overdue"} <= set(actions(db, row.subject_id))


def test_the_answer_goes_to_the_asker_by_email_once(
    db: Session, ctx: RequestContext, clock: FakeClock
) -> None:
    address = f"asker.{uuid.uuid4().hex[:8]}@example.org"
    row = intake.submit_public(
        db, ctx, email=address, title=None, body="How long do you keep logs?"
    )
    clock.advance(timedelta(days=3))
    with pytest.raises(InvalidInputError):
        desk.answer(db, ctx, row.id, "  ", actor=STAFF)
    done = desk.answer(db, ctx, row.id, "Six years, as evidence.", actor=STAFF)
    assert done.answered_at == clock.now() and done.answered_by == STAFF
    assert not desk.is_overdue(done, clock.now() + timedelta(days=60))
    sent = _outbox(db, row.subject_id)
    assert [(t, to) for t, to, _ in sent] == [
        ("inquiry.received", address),
        ("inquiry.answered", address),
    ]
    assert sent[1][2] == {"reference": str(row.id), "answer": "Six years, as evidence."}
    with pytest.raises(ConflictError):
        desk.answer(db, ctx, row.id, "Again", actor=STAFF)
    assert row.id not in {r.id for r in desk.queue(db, clock.now())}


def test_a_correspondent_whose_inquiries_are_gone_is_forgotten_with_the_key(
    db: Session, ctx: RequestContext, keys: KeyService
) -> None:
    row = intake.submit_public(db, ctx, email="gone@example.org", title=None, body="Bye")
    subject = row.subject_id
    assert desk.forget_correspondents(db, keys) == 0
    db.execute(sa.delete(Inquiry).where(Inquiry.id == row.id))  # the retention sweep's work
    assert desk.forget_correspondents(db, keys) == 1
    assert db.get(Subject, subject) is None
    assert keys.keyring.is_destroyed(subject)
