"""A request for the security impact assessment report that reached the privacy mailbox is
answered with the published report, and the inquiry closes with it (CPE-IV.5).

The end-to-end test sends real mail to the privacy mailbox over loopback SMTP, answers the
inquiry through the console API with the assessment attached, and reads the answer from a
loopback SMTP sink after a real worker delivered it.  The others prove the refusals (a
draft, a version without its assessment, an unknown assessment) change nothing, that the
answer is queued in the requester's language, and the command line.
"""

from __future__ import annotations

import smtplib
import uuid
from collections.abc import Iterator
from email.message import EmailMessage
from typing import Any

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from doorstep.asgi import create_app
from doorstep.audit.services import flush_events
from doorstep.core.clock import Clock, FakeClock
from doorstep.core.errors import ConflictError, InvalidInputError, NotFoundError
from doorstep.core.runtime import Runtime
from doorstep.privacy.controls import services as controls
from doorstep.privacy.controls.models import ControlKind
from doorstep.privacy.requests.context import RequestContext
from doorstep.privacy.requests.inquiries import desk, intake
from doorstep.privacy.requests.inquiries.intake import Asker
from doorstep.privacy.requests.inquiries.mailbox import start_mailbox
from doorstep.privacy.requests.inquiries.models import Inquiry, InquiryChannel
from doorstep.staff.services import add_staff
from doorstep.staff.signin import issue_link
from doorstep.wiring import build_services
from tests.cli_run import doorstep
from tests.conftest import database_url_of
from tests.notify.conftest import SmtpServer, drain, free_port, smtp_settings, with_settings
from tests.requests.conftest import new_subject

STAFF = "staff:" + str(uuid.UUID(int=45))
NAME = "Doorstep cloud PI security impact assessment"
SUMMARY = "Telemetry pseudonymised at ingestion; residual risk medium. canary-published"
DRAFT_SUMMARY = "Not yet reviewed. canary-draft"
EVIDENCE = "https://security.example.org/reports/pia-2026.pdf"
SUBJECT = "Our answer to your question, with the report you asked for"


@pytest.fixture
def mailbox(committed: Runtime, smtp: SmtpServer) -> Iterator[tuple[Runtime, int]]:
    """The privacy mailbox on a free loopback port, its runtime sending mail to the sink."""
    runtime = with_settings(committed, **smtp_settings(smtp))
    port = free_port()
    controller = start_mailbox(runtime, host="127.0.0.1", port=port)
    yield runtime, port
    controller.stop()


def _assessment(session: Session, clock: Clock) -> uuid.UUID:
    """An assessment with version 1 published and version 2 a draft; the control's id."""
    control = controls.add_control(
        session,
        kind=ControlKind.SECURITY_IMPACT_ASSESSMENT,
        name=NAME,
        owner_role="ciso",
        clock=clock,
        actor=STAFF,
    )
    for summary in (SUMMARY, DRAFT_SUMMARY):
        controls.add_assessment(
            session,
            control.id,
            assessed_on=clock.now().date(),
            risk_level="medium",
            summary=summary,
            evidence=EVIDENCE,
            clock=clock,
            actor=STAFF,
        )
    controls.publish_assessment(session, control.id, 1, clock=clock, actor=STAFF)
    return control.id


def _ask(port: int, sender: str) -> tuple[int, bytes]:
    """Mail the privacy mailbox asking for the report."""
    message = EmailMessage()
    message["From"] = f"A Researcher <{sender}>"
    message["To"] = "privacy@zte.com.cn"
    message["Subject"] = "Security impact assessment report"
    message.set_content("Please send me your latest security impact assessment report.")
    with smtplib.SMTP("127.0.0.1", port, timeout=30) as client:
        client.ehlo()
        client.mail(sender)
        client.rcpt("privacy@zte.com.cn")
        return client.data(message.as_bytes())


def _answer_events(session: Session) -> list[dict[str, Any]]:
    flush_events(session)
    rows = session.execute(
        sa.text("SELECT details FROM audit_events WHERE action = 'inquiry.answered' ORDER BY id")
    )
    return [dict(row.details) for row in rows]


def _templates(session: Session) -> list[str]:
    return sorted(session.execute(sa.text("SELECT template FROM outbox")).scalars())


@pytest.mark.slow
@pytest.mark.clause("CPE-IV.5")
def test_a_mailbox_request_for_the_report_closes_with_the_published_report(
    mailbox: tuple[Runtime, int], smtp: SmtpServer, clock: FakeClock
) -> None:
    runtime, port = mailbox
    with runtime.sessions.begin() as session:
        control_id = _assessment(session, clock)
        officer = add_staff(session, role="privacy_officer", clock=clock)
        link = issue_link(session, officer.id, clock=clock)

    with TestClient(create_app(runtime), raise_server_exceptions=False) as client:
        listed = client.get("/api/v1/security-assessments")
        assert listed.status_code == 200
        assert [(row["name"], row["version"]) for row in listed.json()] == [(NAME, 1)]

        sender = f"researcher.{uuid.uuid4().hex[:8]}@example.org"
        code, reply = _ask(port, sender)
        assert code == 250, reply
        with runtime.sessions() as session:
            (ticket,) = session.scalars(sa.select(Inquiry)).all()
        assert ticket.channel is InquiryChannel.EMAIL and ticket.answered_at is None

        signed_in = client.post("/api/v1/console/sessions", json={"token": link})
        assert signed_in.status_code == 201, signed_in.text
        headers = {"Authorization": f"Bearer {signed_in.json()['access_token']}"}
        answer = f"/api/v1/console/inquiries/{ticket.id}/answer"
        words = "Here is the report you asked for."

        draft = client.post(
            answer,
            headers=headers,
            json={"answer": words, "assessment": str(control_id), "version": 2},
        )
        assert draft.status_code == 409, draft.text
        assert draft.json()["reason"] == "not_published"
        assert "draft" in draft.json()["detail"]
        with runtime.sessions() as session:
            still_open = session.get(Inquiry, ticket.id)
            assert still_open is not None and still_open.answered_at is None
            assert _templates(session) == ["inquiry.received"]
            assert _answer_events(session) == []

        sent = client.post(
            answer, headers=headers, json={"answer": words, "assessment": str(control_id)}
        )
        assert sent.status_code == 200, sent.text
        assert sent.json()["answered_at"] is not None
        answered = client.get("/api/v1/console/inquiries?answered=true", headers=headers)
        assert [row["id"] for row in answered.json()] == [str(ticket.id)]

    drain(runtime)
    (mail,) = [
        m for m in smtp.received if m.rcpt_tos == [sender] and m.message["Subject"] == SUBJECT
    ]
    assert str(ticket.id) in mail.text
    assert words in mail.text
    assert f"{NAME}, version 1 of {clock.now().date().isoformat()}" in mail.text
    assert "(risk found: medium)" in mail.text
    assert SUMMARY in mail.text
    assert f"The full report: {EVIDENCE}" in mail.text
    assert "canary-draft" not in mail.text
    with runtime.sessions() as session:
        closed = session.get(Inquiry, ticket.id)
        assert closed is not None and closed.answered_at is not None
        assert closed.answered_by is not None and closed.answered_by.startswith("staff:")
        (event,) = _answer_events(session)
        assert event["inquiry"] == str(ticket.id)
        assert (event["assessment"], event["assessment_version"]) == (str(control_id), 1)
        status = session.execute(
            sa.text("SELECT status FROM outbox WHERE template = 'inquiry.answered_report'")
        ).scalar_one()
        assert status == "sent"


def _german_asker(session: Session) -> Asker:
    """An account whose language is German, writing from its own address."""
    subject = new_subject(session)
    address = f"{subject.hex[:12]}@example.org"
    session.execute(
        sa.text(
            "INSERT INTO accounts (id, status, email, password_hash, language, created_at, "
            "source) VALUES (:id, 'active', :email, 'x', 'de', now(), 'app_signup')"
        ),
        {"id": subject, "email": address},
    )
    asker = intake.asker_for_address(session, address)
    assert (asker.subject_id, asker.language) == (subject, "de")
    return asker


def test_refusals_change_nothing_and_the_answer_is_in_the_requesters_language(
    db: Session, ctx: RequestContext, clock: FakeClock
) -> None:
    control_id = _assessment(db, clock)
    row = intake.open_inquiry(
        db,
        ctx,
        asker=_german_asker(db),
        channel=InquiryChannel.EMAIL,
        title="Report",
        body="Please send the assessment report.",
        actor=intake.MAILBOX_ACTOR,
    )
    refusals: list[tuple[type[Exception], dict[str, Any]]] = [
        (ConflictError, {"assessment": control_id, "version": 2}),
        (InvalidInputError, {"version": 1}),
        (NotFoundError, {"assessment": uuid.uuid4()}),
        (NotFoundError, {"assessment": control_id, "version": 3}),
    ]
    for error, attached in refusals:  # refused before anything is written: no rollback needed
        with pytest.raises(error):
            desk.answer(db, ctx, row.id, "Attached.", actor=STAFF, **attached)
        assert row.answered_at is None
        assert _templates(db) == ["inquiry.received"]
        assert _answer_events(db) == []

    desk.answer(db, ctx, row.id, "Attached.", actor=STAFF, assessment=control_id, version=1)
    assert row.answered_at == clock.now() and row.answered_by == STAFF
    locale, params = db.execute(
        sa.text("SELECT locale, params FROM outbox WHERE template = 'inquiry.answered_report'")
    ).one()
    assert locale == "de"
    assert {key: params[key] for key in ("name", "version", "risk", "evidence")} == {
        "name": NAME,
        "version": "1",
        "risk": "medium",
        "evidence": EVIDENCE,
    }
    assert params["assessed_on"] == clock.now().date().isoformat()
    assert params["summary"] == SUMMARY
    with pytest.raises(ConflictError):  # answered once; the report is not sent again
        desk.answer(db, ctx, row.id, "Again.", actor=STAFF, assessment=control_id)


def test_the_desk_answers_with_the_report_from_the_command_line(committed: Runtime) -> None:
    ctx = RequestContext.of(build_services(committed))
    with committed.sessions.begin() as session:
        control_id = str(_assessment(session, committed.clock))
        ticket = intake.submit_public(
            session, ctx, email="cli.report@example.org", title=None, body="The report, please."
        )
        reference = str(ticket.id)
    env = {
        "DOORSTEP_DATABASE_URL": database_url_of(committed.settings),
        "DOORSTEP_DATA_DIR": str(committed.settings.data_dir),  # the same keyring
    }
    base = ("requests", "inquiries", "answer", reference, "--text", "Attached.")

    alone = doorstep(*base, "--version", "1", env=env)
    assert alone.returncode == 2 and "--version needs --assessment" in alone.stderr
    draft = doorstep(*base, "--assessment", control_id, "--version", "2", env=env)
    assert draft.returncode == 1 and "version 2 is a draft" in draft.stderr
    with committed.sessions() as session:
        assert _templates(session) == ["inquiry.received"]

    sent = doorstep(*base, "--assessment", control_id, env=env)
    assert sent.returncode == 0, sent.stderr
    assert sent.stdout.startswith(f"inquiry {reference}: answered ")
    with committed.sessions() as session:
        assert _templates(session) == ["inquiry.answered_report", "inquiry.received"]
        (event,) = _answer_events(session)
        assert (event["assessment"], event["assessment_version"]) == (control_id, 1)
