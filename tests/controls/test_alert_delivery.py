"""The daily alert and the report by e-mail, committed and delivered by a real worker over SMTP."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import sqlalchemy as sa

from doorstep.core.runtime import Runtime
from doorstep.jobs.registry import JobContext
from doorstep.privacy.controls import services as svc
from doorstep.privacy.controls.models import ControlKind
from doorstep.privacy.controls.reports import send_assessment
from doorstep.privacy.controls.status import add_months
from doorstep.privacy.controls.tasks import alert_overdue
from tests.controls.conftest import STAFF
from tests.notify.conftest import SmtpServer, drain, smtp_settings, with_settings


@pytest.fixture
def smtp() -> Iterator[SmtpServer]:
    """A plain SMTP server on loopback, running."""
    server = SmtpServer().start()
    yield server
    server.stop()


@pytest.mark.clause("CPE-IV.2.b")
def test_the_daily_job_alerts_the_desk_of_an_overdue_continuity_test_once(
    committed: Runtime, smtp: SmtpServer
) -> None:
    runtime = with_settings(committed, **smtp_settings(smtp))
    clock = runtime.clock
    with runtime.sessions.begin() as session:
        plan = svc.add_control(
            session,
            kind=ControlKind.CONTINUITY_PLAN,
            name="Business continuity plan",
            owner_role="ciso",
            clock=clock,
            actor=STAFF,
        )
        svc.record_evidence(
            session,
            plan.id,
            performed_on=add_months(clock.now().date(), -13),
            evidence="BCP-TEST-2024",
            clock=clock,
            actor=STAFF,
        )
    assert alert_overdue(JobContext(runtime, None, 1), timestamp=0) == 1
    assert alert_overdue(JobContext(runtime, None, 1), timestamp=0) == 0, "alerted once"
    drain(runtime)

    (mail,) = smtp.received
    assert mail.rcpt_tos == ["privacy@zte.com.cn"]
    assert mail.message["Subject"] == "A security control is overdue"
    assert "Business continuity plan (continuity_plan)" in mail.text
    assert "continuity_claim_unsupported" in mail.text
    with runtime.sessions() as session:
        (details,) = session.execute(
            sa.text("SELECT details FROM audit_events WHERE action = 'controls.overdue'")
        ).scalars()
    assert details["control"] == str(plan.id) and details["state"] == "overdue"


@pytest.mark.clause("CPE-IV.5")
def test_a_published_report_reaches_whoever_asked_for_it(
    committed: Runtime, smtp: SmtpServer
) -> None:
    runtime = with_settings(committed, **smtp_settings(smtp))
    clock = runtime.clock
    with runtime.sessions.begin() as session:
        sia = svc.add_control(
            session,
            kind=ControlKind.SECURITY_IMPACT_ASSESSMENT,
            name="Doorstep cloud PI impact assessment",
            owner_role="privacy_officer",
            clock=clock,
            actor=STAFF,
        )
        svc.add_assessment(
            session,
            sia.id,
            assessed_on=clock.now().date(),
            risk_level="medium",
            summary="Telemetry is pseudonymised; the residual risk is medium.",
            evidence="https://example.com/reports/pia-2026.pdf",
            clock=clock,
            actor=STAFF,
        )
        svc.publish_assessment(session, sia.id, 1, clock=clock, actor=STAFF)
        send_assessment(session, sia.id, to="asker@example.org", clock=clock, actor=STAFF)
    drain(runtime)

    (mail,) = smtp.received
    assert mail.rcpt_tos == ["asker@example.org"]
    assert mail.message["Subject"] == "Our security impact assessment report"
    assert "Doorstep cloud PI impact assessment, version 1 of 2026-01-01" in mail.text
    assert "Telemetry is pseudonymised; the residual risk is medium." in mail.text
    assert "https://example.com/reports/pia-2026.pdf" in mail.text
