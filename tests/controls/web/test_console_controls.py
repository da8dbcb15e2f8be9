"""The controls register in Chromium: a privacy officer registers a certificate, sees it
expire and the notice's claim flagged; the public security page lists a published assessment."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import pytest
from playwright.sync_api import Page, expect

from doorstep.privacy.controls import services as svc
from doorstep.privacy.controls.models import ControlKind
from tests.controls.conftest import STAFF
from tests.web.checks import CHECK_PAGE, untranslated
from tests.web.conftest import LiveServer
from tests.web.people import staff_sign_in


@pytest.fixture
def live_server(serve_live: Callable[..., LiveServer]) -> LiveServer:
    """The app served without its job worker (the pages only read and write the register)."""
    return serve_live(worker=False)


@pytest.mark.clause("CPE-IV.2.d")
def test_an_expired_certificate_is_an_alert_and_flags_the_claim_on_the_console(
    page: Page, live_server: LiveServer
) -> None:
    runtime = live_server.runtime
    clock = runtime.clock
    today = clock.now().date()
    staff_sign_in(page, runtime, "privacy_officer")
    page.get_by_role("link", name="Controls").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Controls register")
    expect(page.get_by_text("certification_claim_unsupported")).to_be_visible()
    assert page.evaluate(CHECK_PAGE) == []

    page.get_by_label("Kind").select_option("certificate")
    page.get_by_label("Name").fill("ISO/IEC 27001")
    page.get_by_label("Owner role").fill("ciso")
    page.get_by_role("button", name="Register the control").click()
    expect(page.get_by_text("An audit or a certificate needs its scope.")).to_be_visible()
    expect(page.get_by_text("No control is registered yet.")).to_be_visible()

    page.get_by_label("Scope").fill("Cloud services, Shenzhen")
    page.get_by_role("button", name="Register the control").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("ISO/IEC 27001")
    expect(page.get_by_text("The control is registered.")).to_be_visible()
    page.get_by_label("Tested, reviewed, audited or issued on").fill(
        (today - timedelta(days=30)).isoformat()
    )
    page.get_by_label("Valid until").fill((today + timedelta(days=1)).isoformat())
    page.get_by_label("Certification body").fill("Example Certification Body")
    page.get_by_label("Document").fill("CERT-27001-0042")
    page.get_by_role("button", name="Record the evidence").click()
    expect(page.get_by_text("The evidence is recorded.")).to_be_visible()
    expect(page.get_by_role("cell", name="CERT-27001-0042")).to_be_visible()
    assert page.evaluate(CHECK_PAGE) == []
    page.get_by_role("link", name="Back to the controls register").click()
    expect(page.get_by_text("certification_claim_unsupported")).to_have_count(0)

    clock.advance(timedelta(days=2))
    staff_sign_in(page, runtime, "privacy_officer")  # a console session does not last days
    page.goto("/console/controls")
    alert = page.get_by_role("alert").filter(has_text="certification_claim_unsupported")
    expect(alert).to_contain_text("Expired")
    expect(alert.get_by_role("link", name="ISO/IEC 27001")).to_be_visible()
    row = page.get_by_role("row").filter(has=page.get_by_role("rowheader", name="ISO/IEC 27001"))
    expect(row).to_contain_text("Expired")

    live_server.app.state.web_language = "x-pseudo"
    try:
        page.reload()
        assert untranslated(page.content()) == []
    finally:
        del live_server.app.state.web_language


@pytest.mark.clause("CPE-IV.5")
def test_the_public_security_page_lists_published_assessments_only(
    page: Page, live_server: LiveServer
) -> None:
    runtime = live_server.runtime
    clock = runtime.clock
    with runtime.sessions.begin() as session:
        sia = svc.add_control(
            session,
            kind=ControlKind.SECURITY_IMPACT_ASSESSMENT,
            name="Doorstep cloud",
            owner_role="privacy_officer",
            clock=clock,
            actor=STAFF,
        )
        for risk, summary in (("medium", "First findings."), ("low", "Draft, not public.")):
            svc.add_assessment(
                session,
                sia.id,
                assessed_on=clock.now().date(),
                risk_level=risk,
                summary=summary,
                evidence="https://example.com/pia.pdf",
                clock=clock,
                actor=STAFF,
            )
        svc.publish_assessment(session, sia.id, 1, clock=clock, actor=STAFF)
    page.goto("/security")
    expect(page.get_by_role("heading", level=1)).to_have_text("Security impact assessments")
    expect(page.get_by_role("heading", name="Doorstep cloud, version 1")).to_be_visible()
    expect(page.get_by_text("First findings.")).to_be_visible()
    expect(page.get_by_text("Draft, not public.")).to_have_count(0)
    assert page.evaluate(CHECK_PAGE) == []
    live_server.app.state.web_language = "x-pseudo"
    try:
        page.reload()
        assert untranslated(page.content()) == []
    finally:
        del live_server.app.state.web_language
