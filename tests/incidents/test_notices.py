"""Notices to the affected: rating, five parts, channels, delivery status, public notice."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from doorstep.core.clock import FakeClock
from doorstep.core.errors import ConflictError, InvalidInputError
from doorstep.core.runtime import Runtime
from doorstep.privacy.incidents import desk_tasks, fanout, outcomes
from doorstep.privacy.incidents import services as svc
from doorstep.privacy.incidents.context import IncidentContext
from doorstep.privacy.incidents.models import Incident
from doorstep.privacy.incidents.notices import set_notice
from doorstep.privacy.incidents.views import subject_statuses
from doorstep.wiring import build_services
from tests.incidents.conftest import FIVE_PARTS, STAFF, log_of, subscriber
from tests.notify.conftest import SmtpServer, drain, smtp_settings, with_settings


@pytest.fixture
def smtp() -> object:
    """A plain SMTP server on loopback, running."""
    server = SmtpServer().start()
    yield server
    server.stop()


def _outbox(db: Session, subject: uuid.UUID) -> list[sa.Row[tuple[str, str]]]:
    return list(
        db.execute(
            sa.text("SELECT channel::text, template FROM outbox WHERE subject_id = :s ORDER BY 1"),
            {"s": subject},
        )
    )


def _ready(db: Session, ctx: IncidentContext, users: list[uuid.UUID], risk: str | None) -> Incident:
    incident = svc.open_incident(db, ctx, kind="loss", actor=STAFF, subject_ids=users)
    if risk is not None:
        svc.rate(db, ctx, incident.id, risk, actor=STAFF)
    set_notice(db, ctx, incident.id, FIVE_PARTS, actor=STAFF)
    return incident


def _fan_out(db: Session, ctx: IncidentContext, incident: Incident) -> None:
    fanout.start(db, ctx, incident.id, actor=STAFF)
    while not fanout.notify_batch(db, ctx, incident.id, limit=2).empty:
        pass


@pytest.mark.clause("CPE-IV.1.e")
def test_an_incident_must_be_rated_and_significant_risk_notifies_the_affected(
    db: Session, ctx: IncidentContext
) -> None:
    users = [subscriber(db, email=f"r{n}@example.org") for n in range(3)]
    unrated = _ready(db, ctx, users[:1], None)
    with pytest.raises(ConflictError) as refused:
        fanout.start(db, ctx, unrated.id, actor=STAFF)
    assert refused.value.fields["rule"] == "rated"
    assert _outbox(db, users[0]) == []

    significant = _ready(db, ctx, users[1:2], "significant")
    _fan_out(db, ctx, significant)
    assert _outbox(db, users[1]) == [("email", "incident.notice_significant")]

    # Decision 0018, the stricter reading: a low rating changes the words, not whether
    # the subject is told.
    low = _ready(db, ctx, users[2:], "low")
    _fan_out(db, ctx, low)
    assert _outbox(db, users[2]) == [("email", "incident.notice")]


@pytest.mark.clause("CPE-IV.7.a")
def test_a_notice_missing_a_part_is_refused_and_a_complete_one_is_sent(
    db: Session, ctx: IncidentContext
) -> None:
    user = subscriber(db, email="parts@example.org")
    incident = _ready(db, ctx, [user], "significant")
    set_notice(db, ctx, incident.id, {"self_protection_advice": "  "}, actor=STAFF)
    with pytest.raises(InvalidInputError) as refused:
        fanout.start(db, ctx, incident.id, actor=STAFF)
    assert refused.value.fields["errors"] == [
        {"field": "self_protection_advice", "rule": "required", "locale": "en"}
    ]
    assert db.get(Incident, incident.id).notify_started_at is None  # type: ignore[union-attr]
    assert _outbox(db, user) == []

    set_notice(db, ctx, incident.id, FIVE_PARTS, actor=STAFF)
    _fan_out(db, ctx, incident)
    (sent,) = db.execute(
        sa.text("SELECT params FROM outbox WHERE subject_id = :s"), {"s": user}
    ).scalars()
    assert {name: sent[name] for name in FIVE_PARTS} == FIVE_PARTS


def test_a_notice_in_another_language_must_be_complete_too_and_is_fixed_once_sent(
    db: Session, ctx: IncidentContext
) -> None:
    user = subscriber(db, email="de@example.org", language="de")
    incident = _ready(db, ctx, [user], "low")
    set_notice(db, ctx, incident.id, {"basic_situation": "Ein Einbruch."}, actor=STAFF, locale="de")
    with pytest.raises(InvalidInputError) as refused:
        fanout.start(db, ctx, incident.id, actor=STAFF)
    assert refused.value.fields["errors"][0]["locale"] == "de"
    german = {name: f"{text} (de)" for name, text in FIVE_PARTS.items()}
    set_notice(db, ctx, incident.id, german, actor=STAFF, locale="de")
    _fan_out(db, ctx, incident)
    (row,) = db.execute(
        sa.text("SELECT locale, params FROM outbox WHERE subject_id = :s"), {"s": user}
    ).all()
    assert row.locale == "de"
    assert row.params["remedies"] == german["remedies"]
    with pytest.raises(ConflictError):
        set_notice(db, ctx, incident.id, FIVE_PARTS, actor=STAFF)


@pytest.mark.clause("CPE-IV.7.b")
def test_each_user_is_notified_by_every_channel_they_have_with_a_status_per_channel(
    db: Session, ctx: IncidentContext
) -> None:
    by_mail = subscriber(db, email="mail@example.org")
    by_both = subscriber(db, email="both@example.org", phone="+4915112345670")
    by_post = subscriber(db, email=None, phone=None)
    incident = _ready(db, ctx, [by_mail, by_both, by_post], "significant")
    _fan_out(db, ctx, incident)

    statuses = {row["subject_id"]: row for row in subject_statuses(db, incident.id)}
    assert statuses[str(by_mail)]["channels"] == {"email": "queued"}
    assert statuses[str(by_both)]["channels"] == {"email": "queued", "sms": "queued"}
    assert statuses[str(by_post)]["channels"] == {"letter": "task_open"}
    assert statuses[str(by_post)]["status"] == "unreachable"

    # The desk calls the third one and the outbox delivers and fails the others.
    opened = desk_tasks.open_desk_tasks(
        db, ctx, incident.id, "phone_call", actor=STAFF, subject_id=by_post
    )
    assert opened == 1
    call = db.execute(
        sa.text(
            "SELECT id FROM incident_deliveries WHERE subject_id = :s AND channel = 'phone_call'"
        ),
        {"s": by_post},
    ).scalar_one()
    desk_tasks.close_desk_task(db, ctx, call, "done", actor=STAFF)
    db.execute(
        sa.text(
            "UPDATE outbox SET status = "
            "(CASE WHEN channel = 'sms' THEN 'failed' ELSE 'sent' END)::outbox_status, "
            "last_error = CASE WHEN channel = 'sms' THEN 'sms_refused' END, "
            "sent_at = CASE WHEN channel = 'email' THEN now() END, finished_at = now() "
            "WHERE subject_id = ANY(:s)"
        ),
        {"s": [by_mail, by_both]},
    )
    outcomes.sync_deliveries(db, ctx)
    statuses = {row["subject_id"]: row for row in subject_statuses(db, incident.id)}
    assert statuses[str(by_mail)]["channels"] == {"email": "sent"}
    assert statuses[str(by_both)]["channels"] == {"email": "sent", "sms": "failed"}
    assert statuses[str(by_both)]["status"] == "notified"  # one channel reached them
    assert statuses[str(by_post)]["channels"] == {"letter": "task_open", "phone_call": "done"}
    assert statuses[str(by_post)]["status"] == "notified"


@pytest.mark.clause("CPE-IV.7.c")
def test_when_contact_fails_a_public_notice_is_published_and_the_decision_logged(
    db: Session, ctx: IncidentContext, clock: FakeClock
) -> None:
    users = [subscriber(db, email=f"p{n}@example.org") for n in range(5)]
    incident = _ready(db, ctx, users, "significant")
    _fan_out(db, ctx, incident)
    with pytest.raises(ConflictError):  # nobody is unreachable yet: contact has not failed
        desk_tasks.publish_public_notice(
            db, ctx, incident.id, url="https://example.org/n", reason="contact_failed", actor=STAFF
        )
    # 40 % of the deliveries fail.
    db.execute(
        sa.text(
            "UPDATE outbox SET status = 'failed', last_error = 'recipient_refused', "
            "finished_at = now() WHERE subject_id = ANY(:s)"
        ),
        {"s": users[:2]},
    )
    outcomes.sync_deliveries(db, ctx)
    with pytest.raises(InvalidInputError):
        desk_tasks.publish_public_notice(
            db, ctx, incident.id, url="http://example.org/n", reason="contact_failed", actor=STAFF
        )
    notice = desk_tasks.publish_public_notice(
        db,
        ctx,
        incident.id,
        url="https://example.org/security/notice-2026-01",
        reason="contact_failed",
        actor=STAFF,
    )
    assert notice.url == "https://example.org/security/notice-2026-01"
    assert notice.published_at == clock.now()
    assert (notice.unreached, notice.affected) == (2, 5)
    assert "incident.public_notice_decided" in log_of(db, incident.id)
    decision = db.execute(
        sa.text(
            "SELECT actor, details FROM audit_events "
            "WHERE action = 'incident.public_notice_decided'"
        )
    ).one()
    assert decision.actor == STAFF
    assert decision.details["reason"] == "contact_failed"
    assert decision.details["unreached"] == 2


def test_a_legal_ground_delays_the_notice_until_it_lapses(
    db: Session, ctx: IncidentContext, clock: FakeClock
) -> None:
    from doorstep.privacy.incidents.reports import withhold

    user = subscriber(db, email="held@example.org", phone="+8613800000001")
    incident = _ready(db, ctx, [user], "significant")
    with pytest.raises(InvalidInputError):
        withhold(
            db,
            ctx,
            incident.id,
            "CN",
            authority="",
            legal_reference="x",
            until=clock.now() + timedelta(days=1),
            actor=STAFF,
        )
    withhold(
        db,
        ctx,
        incident.id,
        "CN",
        authority="Public Security Bureau",
        legal_reference="PIPL Art. 57(2)",
        until=clock.now() + timedelta(days=1),
        actor=STAFF,
    )
    _fan_out(db, ctx, incident)
    assert _outbox(db, user) == []
    clock.advance(timedelta(days=1, seconds=1))
    _fan_out(db, ctx, incident)
    assert _outbox(db, user) == [
        ("email", "incident.notice_significant"),
        ("sms", "incident.notice_significant"),
    ]
    assert "incident.notice_withheld" in log_of(db, incident.id)


def test_notices_reach_a_real_smtp_server_through_the_worker(
    committed: Runtime, smtp: SmtpServer
) -> None:
    runtime = with_settings(committed, **smtp_settings(smtp))
    ctx = IncidentContext.of(build_services(runtime))
    with runtime.sessions.begin() as session:
        users = [subscriber(session, email=f"smtp{n}@example.org") for n in range(3)]
        german = subscriber(session, email="smtp-de@example.org", language="de")
        incident = _ready(session, ctx, [*users, german], "significant")
        fanout.start(session, ctx, incident.id, actor=STAFF)
    drain(runtime)
    assert sorted(mail.rcpt_tos[0] for mail in smtp.received) == sorted(
        [*(f"smtp{n}@example.org" for n in range(3)), "smtp-de@example.org"]
    )
    mail = next(m for m in smtp.received if m.rcpt_tos == ["smtp0@example.org"])
    assert mail.message["Subject"].startswith("Important: a security incident")
    for text in FIVE_PARTS.values():
        assert text in mail.text
    with runtime.sessions.begin() as session:
        outcomes.sync_deliveries(session, ctx)
        statuses = {row["status"] for row in subject_statuses(session, incident.id)}
        channels = {row["channels"]["email"] for row in subject_statuses(session, incident.id)}
    assert statuses == {"notified"}
    assert channels == {"sent"}
