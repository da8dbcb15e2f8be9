"""The request state machine, its deadlines and its audit trail."""

from __future__ import annotations

import calendar
import dataclasses
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy.orm import Session

from doorstep.core.clock import FakeClock
from doorstep.core.errors import ConflictError, InvalidInputError
from doorstep.core.settings import Settings
from doorstep.keys.services import KeyService
from doorstep.privacy.requests import services as svc
from doorstep.privacy.requests.codes import ErasureGround, RefusalCode
from doorstep.privacy.requests.context import RequestContext
from doorstep.privacy.requests.deadlines import add_months
from doorstep.privacy.requests.models import (
    RequestChannel,
    RequestKind,
    RequestStatus,
    SubjectRequest,
)
from doorstep.privacy.requests.tracking import effective_due, overdue, remind
from tests.requests.conftest import STAFF, actions, new_account, new_subject

JAN_31 = datetime(2024, 1, 31, 10, 0, tzinfo=UTC)


def _open(
    db: Session,
    ctx: RequestContext,
    kind: RequestKind = RequestKind.ACCESS,
    *,
    subject_id: uuid.UUID | None = None,
    **kw: Any,
) -> SubjectRequest:
    subject = subject_id or new_subject(db)
    return svc.open_request(
        db, ctx, subject_id=subject, kind=kind, channel="email", actor=STAFF, **kw
    )


@pytest.mark.clause("CPE-V.1.c")
def test_an_access_request_is_due_thirty_days_after_receipt(
    db: Session, ctx: RequestContext, clock: FakeClock
) -> None:
    clock.set(JAN_31)
    row = _open(db, ctx)
    assert row.status is RequestStatus.RECEIVED
    assert row.due_at == datetime(2024, 3, 1, 10, 0, tzinfo=UTC)


@pytest.mark.clause("CPE-IX.3")
@pytest.mark.clause("CORP-9.2")
def test_a_letter_counts_from_its_date_of_receipt(
    db: Session, ctx: RequestContext, clock: FakeClock
) -> None:
    clock.set(JAN_31 + timedelta(days=3))
    row = svc.open_request(
        db,
        ctx,
        subject_id=new_subject(db),
        kind=RequestKind.ACCESS,
        channel="post",
        actor=STAFF,
        received_at=JAN_31,
    )
    assert (row.channel, row.received_at) == (RequestChannel.POST, JAN_31)
    assert row.due_at == JAN_31 + timedelta(days=30)
    with pytest.raises(InvalidInputError):
        _open(db, ctx, received_at=clock.now() + timedelta(hours=1))


def test_gdpr_counts_one_calendar_month(db: Session, ctx: RequestContext, clock: FakeClock) -> None:
    clock.set(JAN_31)
    row = _open(db, ctx, jurisdiction="gdpr")
    assert row.due_at == datetime(2024, 2, 29, 10, 0, tzinfo=UTC)


_KIND_FIELDS: dict[RequestKind, dict[str, Any]] = {
    RequestKind.DELETION: {"ground": ErasureGround.NO_PERMISSION},
    RequestKind.RESTRICTION: {"purpose": "notification.delivery"},
    RequestKind.OBJECTION: {"purpose": "notification.delivery"},
    RequestKind.CONSENT_WITHDRAWAL: {"purpose": "wifi.location_scan"},
}


@pytest.mark.clause("CPE-V.6.b")
@pytest.mark.parametrize("kind", list(RequestKind))
def test_every_kind_of_request_is_due_within_thirty_days_of_receipt(
    db: Session, ctx: RequestContext, clock: FakeClock, keys: KeyService, kind: RequestKind
) -> None:
    """Under the default rule no request is due later than 30 calendar days after receipt."""
    clock.set(JAN_31)
    fields = _KIND_FIELDS.get(kind, {})
    if kind is RequestKind.CORRECTION:
        subject = new_account(db, keys, clock, "deadline")
        fields = {"subject_id": subject, "element": "accounts.email", "value": "new@example.org"}
    row = _open(db, ctx, kind, **fields)
    assert row.received_at == JAN_31
    assert JAN_31 < row.due_at <= JAN_31 + timedelta(days=30)
    if kind is not RequestKind.DEREGISTRATION:  # a manual deregistration: 2 working days
        assert row.due_at == JAN_31 + timedelta(days=30)


@pytest.mark.clause("CPE-V.6.b")
def test_overdue_one_hour_after_the_deadline_not_one_hour_before(
    db: Session, ctx: RequestContext, clock: FakeClock
) -> None:
    clock.set(JAN_31)
    row = _open(db, ctx)
    assert row.due_at == JAN_31 + timedelta(days=30)  # never later than the promised 30 days
    svc.verify(db, ctx, row.id, method="session", actor=STAFF)
    clock.set(row.due_at - timedelta(hours=1))
    assert row not in overdue(db, clock.now())
    clock.set(row.due_at + timedelta(hours=1))
    assert row in overdue(db, clock.now())


def test_the_clock_pauses_only_while_identity_proof_is_owed(
    db: Session, ctx: RequestContext, clock: FakeClock
) -> None:
    clock.set(JAN_31)
    row = _open(db, ctx)
    first_due = row.due_at
    clock.advance(timedelta(days=2))
    svc.ask_identity(db, ctx, row.id, actor=STAFF)
    clock.advance(timedelta(days=5))
    assert effective_due(row, clock.now()) == first_due + timedelta(days=5)
    clock.set(first_due + timedelta(hours=1))
    assert row not in overdue(db, clock.now())  # paused: never overdue
    clock.set(JAN_31 + timedelta(days=7))
    svc.verify(db, ctx, row.id, method="email_code", actor=STAFF)
    assert row.due_at == first_due + timedelta(days=5)
    assert row.paused_since is None


@pytest.mark.clause("CPE-V.6.a")
def test_nothing_is_released_before_identity_is_verified(db: Session, ctx: RequestContext) -> None:
    row = _open(db, ctx)
    with pytest.raises(ConflictError):
        svc.complete(db, ctx, row.id, actor=STAFF)
    svc.verify(db, ctx, row.id, method="session", actor=STAFF)
    done = svc.complete(db, ctx, row.id, actor=STAFF)
    assert done.status is RequestStatus.COMPLETED
    assert done.verification == "session"
    assert done.verified_at is not None


def test_every_transition_is_audited_and_final_states_stay_final(
    db: Session, ctx: RequestContext
) -> None:
    row = _open(db, ctx)
    svc.ask_identity(db, ctx, row.id, actor=STAFF)
    svc.verify(db, ctx, row.id, method="email_code", actor=STAFF)
    svc.complete(db, ctx, row.id, actor=STAFF)
    assert actions(db, row.subject_id) == [
        "request.received",
        "request.verifying",
        "request.in_progress",
        "request.completed",
    ]
    with pytest.raises(ConflictError):
        svc.ask_identity(db, ctx, row.id, actor=STAFF)


@pytest.mark.clause("CPE-V.6.b")
@pytest.mark.parametrize("month", range(1, 13))
def test_a_gdpr_request_is_due_at_the_earlier_of_one_month_and_thirty_days(
    db: Session, ctx: RequestContext, clock: FakeClock, month: int
) -> None:
    """GDPR's month is 28 to 31 days; the policy's 30 days cap it in every month of the year."""
    received = datetime(2025, month, calendar.monthrange(2025, month)[1], 9, 0, tzinfo=UTC)
    clock.set(received)
    row = _open(db, ctx, jurisdiction="gdpr")
    month_later = add_months(received, 1)
    assert row.due_at == min(month_later, received + timedelta(days=30))
    assert row.due_at - received <= timedelta(days=30)


def test_without_a_promised_period_gdpr_counts_the_whole_month(
    db: Session, ctx: RequestContext, clock: FakeClock, settings: Settings
) -> None:
    """``requests_promised_days`` unset: one calendar month, 31 days from 1 July."""
    uncapped = dataclasses.replace(
        ctx, settings=settings.model_copy(update={"requests_promised_days": None})
    )
    clock.set(datetime(2025, 7, 1, 9, 0, tzinfo=UTC))
    row = _open(db, uncapped, jurisdiction="gdpr")
    assert row.due_at == datetime(2025, 8, 1, 9, 0, tzinfo=UTC)


def test_gdpr_extension_by_two_months_only_inside_the_first_month(
    db: Session, ctx: RequestContext, clock: FakeClock
) -> None:
    clock.set(JAN_31)
    row = _open(db, ctx, jurisdiction="gdpr")
    svc.verify(db, ctx, row.id, method="session", actor=STAFF)
    with pytest.raises(InvalidInputError):
        svc.extend(db, ctx, row.id, months=3, reason="complexity", actor=STAFF)
    clock.set(row.due_at - timedelta(hours=1))
    svc.extend(db, ctx, row.id, months=2, reason="complexity", actor=STAFF)
    assert row.status is RequestStatus.EXTENDED
    assert row.due_at == datetime(2024, 4, 29, 10, 0, tzinfo=UTC)
    assert "request.extension_notified" in actions(db, row.subject_id)

    late = _open(db, ctx, jurisdiction="gdpr")
    svc.verify(db, ctx, late.id, method="session", actor=STAFF)
    clock.set(late.due_at + timedelta(hours=1))
    with pytest.raises(ConflictError):
        svc.extend(db, ctx, late.id, months=2, reason="complexity", actor=STAFF)


def test_the_default_rule_grants_no_extension(db: Session, ctx: RequestContext) -> None:
    row = _open(db, ctx)
    svc.verify(db, ctx, row.id, method="session", actor=STAFF)
    with pytest.raises(InvalidInputError):
        svc.extend(db, ctx, row.id, months=1, reason="complexity", actor=STAFF)


@pytest.mark.clause("CPE-V.3.b")
@pytest.mark.parametrize("ground", list(ErasureGround))
def test_an_erasure_carries_a_known_ground(
    db: Session, ctx: RequestContext, ground: ErasureGround
) -> None:
    row = _open(db, ctx, RequestKind.DELETION, ground=ground)
    assert row.ground == ground.value


@pytest.mark.clause("CPE-V.3.b")
def test_an_erasure_without_a_known_ground_is_rejected(db: Session, ctx: RequestContext) -> None:
    for ground in (None, "BECAUSE"):
        with pytest.raises(InvalidInputError):
            _open(db, ctx, RequestKind.DELETION, ground=ground)


@pytest.mark.clause("CORP-4.2")
def test_every_kind_of_request_can_be_opened(db: Session, ctx: RequestContext) -> None:
    for kind in RequestKind:
        extra: dict[str, Any] = {}
        if kind is RequestKind.DELETION:
            extra["ground"] = ErasureGround.NO_PERMISSION
        if kind in svc.PURPOSE_KINDS:
            extra["purpose"] = "account.profile"
        if kind is RequestKind.CORRECTION:
            extra |= {"element": "accounts.email", "value": "Fixed@Example.org"}
        assert _open(db, ctx, kind, **extra).kind is kind


@pytest.mark.clause("CPE-V.6.c")
def test_repeated_requests_beyond_the_rule_get_a_fee_quote(
    db: Session, ctx: RequestContext, clock: FakeClock
) -> None:
    subject = new_subject(db)
    fees = []
    for _ in range(3):
        fees.append(_open(db, ctx, subject_id=subject).fee_due)
        clock.advance(timedelta(days=60))
    assert fees == [False, False, True]
    assert actions(db, subject).count("request.fee_quoted") == 1


@pytest.mark.clause("CPE-V.6.d")
@pytest.mark.clause("CORP-9.3")
def test_a_refusal_needs_a_code_and_tells_where_to_complain(
    db: Session, ctx: RequestContext
) -> None:
    row = _open(db, ctx, jurisdiction="gdpr")
    with pytest.raises(InvalidInputError):
        svc.refuse(db, ctx, row.id, code=None, reviewer=STAFF)
    refusal = svc.refuse(db, ctx, row.id, code=RefusalCode.IMPRACTICAL, reviewer=STAFF)
    assert row.status is RequestStatus.REFUSED
    assert row.reviewer == STAFF
    assert "data protection authority" in refusal.complaint_route


def test_staff_cannot_choose_a_legal_hold_as_a_refusal(db: Session, ctx: RequestContext) -> None:
    """A hold is placed on the subject (privacy.holds); it is never a reason picked by hand."""
    row = _open(db, ctx)
    with pytest.raises(InvalidInputError):
        svc.refuse(db, ctx, row.id, code=RefusalCode.LEGAL_HOLD, reviewer=STAFF)
    assert row.status is not RequestStatus.REFUSED and row.refusal_code is None


@pytest.mark.clause("CPE-V.6.e")
def test_malice_or_abuse_needs_evidence(db: Session, ctx: RequestContext) -> None:
    row = _open(db, ctx)
    with pytest.raises(InvalidInputError):
        svc.refuse(db, ctx, row.id, code=RefusalCode.MALICE_OR_ABUSE, reviewer=STAFF)
    svc.refuse(db, ctx, row.id, code=RefusalCode.MALICE_OR_ABUSE, reviewer=STAFF, evidence="ev-123")
    assert row.refusal_code == "MALICE_OR_ABUSE"


@pytest.mark.clause("CPE-IX.4")
@pytest.mark.clause("CORP-9.3")
def test_cn_requesters_are_pointed_at_the_cac(
    db: Session, clock: FakeClock, settings: Settings
) -> None:
    periods = {**settings.requests_periods, "cn": "P30D"}
    ctx = RequestContext(
        clock=clock, settings=settings.model_copy(update={"requests_periods": periods})
    )
    row = _open(db, ctx, jurisdiction="cn")
    refusal = svc.refuse(db, ctx, row.id, code=RefusalCode.IMPRACTICAL, reviewer=STAFF)
    assert "Cyberspace Administration of China" in refusal.complaint_route


@pytest.mark.clause("CPE-V.6.b")
def test_reminder_before_the_deadline_and_escalation_after_once_each(
    db: Session, ctx: RequestContext, clock: FakeClock
) -> None:
    clock.set(JAN_31)
    row = _open(db, ctx)
    assert row.due_at == JAN_31 + timedelta(days=30)  # never later than the promised 30 days
    svc.verify(db, ctx, row.id, method="session", actor=STAFF)
    clock.set(row.due_at - timedelta(days=7, hours=1))
    assert remind(db, ctx) == (0, 0)
    clock.set(row.due_at - timedelta(days=7) + timedelta(hours=1))
    assert remind(db, ctx) == (1, 0)
    clock.set(row.due_at - timedelta(hours=1))
    assert remind(db, ctx) == (0, 0)
    clock.set(row.due_at + timedelta(hours=1))
    assert remind(db, ctx) == (0, 1)
    assert remind(db, ctx) == (0, 0)
    assert actions(db, row.subject_id)[-2:] == ["request.reminder", "request.overdue"]


@pytest.mark.clause("CPE-V.5.b")
def test_a_manual_deregistration_is_due_at_the_end_of_the_second_working_day(
    db: Session, ctx: RequestContext, clock: FakeClock
) -> None:
    friday_five_pm = datetime(2026, 11, 20, 17, 0, tzinfo=UTC)
    clock.set(friday_five_pm)
    row = _open(db, ctx, RequestKind.DEREGISTRATION)
    end_of_tuesday = datetime(2026, 11, 24, 23, 59, 59, 999999, tzinfo=UTC)
    assert row.due_at == end_of_tuesday
    svc.verify(db, ctx, row.id, method="postal_id", actor=STAFF)
    clock.set(end_of_tuesday - timedelta(hours=1))
    assert row not in overdue(db, clock.now())
    clock.set(end_of_tuesday + timedelta(hours=1))
    assert row in overdue(db, clock.now())
