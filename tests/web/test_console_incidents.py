"""The incident desk in Chromium: open an incident for a device model, notify, export the report.

A privacy officer opens an incident spanning every router of one model; the
page counts the affected subscribers and shows the clocks; they rate it, write
the notice and send it; the live server's own worker fans it out and delivers
the e-mails to a real SMTP server on loopback; the page then shows the
deliveries, and the officer downloads the report for the EU authority.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from datetime import timedelta

import pytest
import sqlalchemy as sa
from playwright.sync_api import Page, expect

from doorstep.core.runtime import Runtime
from tests.incidents.conftest import FIVE_PARTS, device
from tests.notify.conftest import SmtpServer, smtp_settings, with_settings
from tests.web.conftest import LiveServer, running, screenshot
from tests.web.people import make_subscriber, staff_sign_in

LABELS = {
    "basic_situation": "What happened",
    "possible_impact": "What it may mean for them",
    "measures": "Measures taken or planned",
    "self_protection_advice": "How they can protect themselves",
    "remedies": "Remedies offered",
}


@pytest.fixture
def smtp() -> Iterator[SmtpServer]:
    """A plain SMTP server on loopback, running."""
    server = SmtpServer().start()
    yield server
    server.stop()


@pytest.fixture
def live_server(committed: Runtime, smtp: SmtpServer) -> Iterator[LiveServer]:
    """The app with its worker, sending e-mail to ``smtp``."""
    with running(with_settings(committed, **smtp_settings(smtp))) as server:
        yield server


def _deliveries(runtime: Runtime) -> set[tuple[str, str]]:
    with runtime.sessions() as session:
        rows = session.execute(
            sa.text("SELECT subject_id::text, channel FROM incident_deliveries")
        ).all()
    return {(row[0], row[1]) for row in rows}


@pytest.mark.clause("CPE-IV.2.e")
@pytest.mark.clause("CPE-IV.7.b")
@pytest.mark.timeout(240)
def test_an_officer_opens_an_incident_for_a_model_notifies_and_exports_the_report(
    page: Page, live_server: LiveServer, smtp: SmtpServer
) -> None:
    runtime = live_server.runtime
    owners = [make_subscriber(runtime) for _ in range(2)]
    bystander = make_subscriber(runtime)
    bound = runtime.clock.now() - timedelta(days=30)
    with runtime.sessions.begin() as session:
        for person in owners:
            device(session, "DR-1000", person.subject_id, bound)
        device(session, "DG-2000", bystander.subject_id, bound)

    staff_sign_in(page, runtime, "privacy_officer")
    page.get_by_role("link", name="Incidents").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Incidents")
    page.get_by_label("Type").select_option("disclosure")
    page.get_by_label("Device models").fill("DR-1000")
    page.get_by_label("Window from").fill("2020-01-01 00:00")
    page.get_by_role("button", name="Open the incident").click()
    expect(page.get_by_text("The incident is open")).to_be_visible()
    expect(page.locator("#affected-count")).to_have_text("2")
    obligations = page.get_by_role("table").filter(has_text="Owed to")
    expect(obligations).to_contain_text("The affected subscribers")
    expect(obligations.get_by_role("row").filter(has_text="EU")).to_have_count(2)
    expect(page.get_by_role("button", name="Mark containment done")).to_be_visible()
    expect(page.get_by_role("button", name="Mark assessment done")).to_be_visible()

    page.get_by_label("Risk", exact=True).select_option("significant")
    page.get_by_role("button", name="Rate", exact=True).click()
    expect(page.get_by_text("The risk is rated.")).to_be_visible()
    for part, label in LABELS.items():
        page.get_by_label(label).fill(FIVE_PARTS[part])
    page.get_by_role("button", name="Save the notice").click()
    expect(page.get_by_text("The notice is saved.")).to_be_visible()
    page.get_by_role("button", name="Send the notices").click()
    expect(page.get_by_text("The notices are on their way")).to_be_visible()

    deadline = time.monotonic() + 120
    while len(smtp.received) < 2 and time.monotonic() < deadline:
        time.sleep(0.2)
    assert sorted(mail.rcpt_tos[0] for mail in smtp.received) == sorted(
        person.email for person in owners
    )
    assert all(FIVE_PARTS["remedies"] in mail.text for mail in smtp.received)
    deliveries = page.get_by_role("table").filter(has_text="Notices per channel")
    for _ in range(60):  # the outbox's worker marks them sent; the page copies the outcome
        page.reload()
        rows = deliveries.get_by_role("row")
        # every one sent: one row per channel, none of them still queued for some
        if rows.filter(has_text="sent").count() == 2 and not rows.filter(has_text="queued").count():
            break
        time.sleep(0.5)
    expect(deliveries.get_by_role("row").filter(has_text="email")).to_contain_text("sent")
    expect(deliveries.get_by_role("row").filter(has_text="sms")).to_contain_text("sent")
    screenshot(page, "console-incident")
    # One delivery record per subscriber and channel: e-mail and SMS for each owner.
    assert _deliveries(runtime) == {
        (str(person.subject_id), channel) for person in owners for channel in ("email", "sms")
    }

    with page.expect_download() as info:
        page.get_by_role("link", name="Report for EU (JSON)").click()
    report = json.loads(info.value.path().read_text())
    assert report["jurisdiction"] == "EU" and report["nature"]["device_models"] == ["DR-1000"]
    assert report["subjects"]["affected"] == 2 and report["subjects"]["notified"] == 2
    text = json.dumps(report)
    assert all(person.email not in text and person.phone not in text for person in owners)
