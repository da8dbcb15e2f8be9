"""A major policy change in Chromium: published, noticed, refused, and the old version governing.

A privacy officer publishes version 1.2 through the console API (signed in to the
console in the browser); it adds the purpose ``customer.support``, which version 1.1
(in force since last year) did not have, so it needs each subscriber's acceptance.
The app's own worker sends the notices (e-mail to a loopback SMTP server) before the
effective date; the subscribers sign in and find the prominent notice on the privacy
center, one refuses and one accepts.  Once 1.2 is in force, support looks both of
their routers up in the console: the purpose gate shows the accepting subscriber's
record and withholds the refusing one's (``policy_not_accepted``), because version
1.1 still governs them (CPE-VII.1).
"""

from __future__ import annotations

import secrets
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from playwright.sync_api import BrowserContext, Page, expect

from doorstep.core.clock import FakeClock
from doorstep.core.runtime import Runtime
from doorstep.devices.models import (
    BindMethod,
    Device,
    DeviceBinding,
    DeviceRegistration,
    ProductType,
)
from doorstep.privacy.datamap.pack import DEFAULT_PACK
from doorstep.privacy.policies import versions
from doorstep.privacy.policies.classify import Classification
from doorstep.privacy.policies.facts import PolicyFacts, facts_of
from doorstep.web.console.devices import ELEMENTS
from doorstep.wiring import build_services
from tests.notify.conftest import SmtpServer, smtp_settings, with_settings
from tests.web.checks import CHECK_PAGE
from tests.web.conftest import LiveServer, running
from tests.web.people import Person, make_subscriber, sign_in, staff_sign_in
from tests.web.test_console_requests import answered_banner

NEW_PURPOSE = "customer.support"
NOTICE_HEADING = "Our privacy policy is changing"
WITHHELD = "Not shown: the policy version this subscriber accepted does not allow this use."


@pytest.fixture
def smtp() -> Iterator[SmtpServer]:
    """A plain SMTP server on loopback that records what it accepts."""
    server = SmtpServer().start()
    yield server
    server.stop()


@pytest.fixture
def live_server(committed: Runtime, smtp: SmtpServer) -> Iterator[LiveServer]:
    """The app with its job worker, sending e-mail to the loopback server."""
    with running(with_settings(committed, **smtp_settings(smtp))) as server:
        yield server


def _version_without_the_new_purpose(runtime: Runtime) -> None:
    """Version 1.1, in force for a year, which did not have ``customer.support``."""
    services = build_services(runtime)
    facts = facts_of(services.pack, services.terms).to_json()
    del facts["purposes"][NEW_PURPOSE]
    with runtime.sessions.begin() as session:
        versions.store(
            session,
            version_id="1.1",
            effective_at=runtime.clock.now() - timedelta(days=365),
            summary="The first version.",
            facts=PolicyFacts.from_json(facts),
            documents=versions.documents_of(DEFAULT_PACK),
            classification=Classification(()),
            major=False,
            minor_reason=None,
            clock=runtime.clock,
        )


def _router(runtime: Runtime, owner: Person, serial: str) -> uuid.UUID:
    """A router bound to ``owner`` with a registration record (serial number ``serial``)."""
    now = runtime.clock.now()
    device_id = uuid.uuid4()
    with runtime.sessions.begin() as session:
        session.add(
            Device(
                id=device_id,
                endpoint_key=secrets.token_bytes(32),
                secret_hash="not-a-real-hash",
                claim_hash=secrets.token_bytes(32),
                provisioned_at=now,
            )
        )
        session.flush()
        session.add(
            DeviceRegistration(
                device_id=device_id,
                endpoint_id=f"os::0A1B2C-{serial}",
                mtp="websocket",
                model="Doorstep Router 9",
                firmware_version="1.2.3",
                serial_number=serial,
                mac_address="02:00:5e:10:00:01",
                network_status="Up",
                ip_address="192.0.2.44",
                product_type=ProductType.ROUTER,
                registered_at=now,
                refreshed_at=now,
                last_seen=now,
                online=True,
                source="device_registration",
            )
        )
        session.add(
            DeviceBinding(
                device_id=device_id, subject_id=owner.subject_id, method=BindMethod.QR, bound_at=now
            )
        )
    return device_id


def _until(found: Callable[[], Any], what: str, timeout: float = 60) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = found()
        if value:
            return value
        assert time.monotonic() < deadline, f"waited in vain for {what}"
        time.sleep(0.1)


def _mail(smtp: SmtpServer, to: str, subject: str) -> str:
    for message in list(smtp.received):
        if to in message.rcpt_tos and message.message["subject"] == subject:
            return str(message.text)
    return ""


def _one(runtime: Runtime, query: str, **params: object) -> Any:
    with runtime.engine.connect() as connection:
        return connection.execute(sa.text(query), params).scalar()


def _rows(runtime: Runtime, query: str, **params: object) -> list[Any]:
    with runtime.engine.connect() as connection:
        return list(connection.execute(sa.text(query), params))


def _signed_in(new_context: Callable[..., BrowserContext], live: LiveServer, who: Person) -> Page:
    context = new_context()
    answered_banner(context, live)
    page = context.new_page()
    sign_in(page, who, then="/privacy")
    return page


def _answer(page: Page, button: str) -> None:
    """Follow the privacy center's notice to the change and answer it with ``button``."""
    notice = page.get_by_role("region", name=NOTICE_HEADING)
    expect(notice).to_contain_text("Version 1.2 takes effect on")
    expect(notice).to_contain_text("Support may now answer you with your contact data.")
    notice.get_by_role("link", name="See what changes and answer").click()
    page.wait_for_url("**/policy/notice/1.2")
    expect(page.get_by_role("heading", level=1)).to_have_text(NOTICE_HEADING)
    change = page.get_by_role("listitem").filter(has_text=f"purposes: {NEW_PURPOSE} added")
    expect(change).to_contain_text("this needs your consent")
    assert page.evaluate(CHECK_PAGE) == []
    page.get_by_role("button", name=button).click()


def _record_cells(page: Page, device_id: uuid.UUID) -> list[str]:
    page.goto(f"/console/devices/{device_id}")
    expect(page.get_by_role("heading", level=1)).to_be_visible()
    table = page.get_by_role("region").locator("table")
    return [
        table.get_by_role("row")
        .filter(has=page.get_by_role("rowheader", name=label, exact=True))
        .get_by_role("cell")
        .inner_text()
        for _column, label in ELEMENTS
        if label in ("Model", "Serial number", "MAC address", "IP address")
    ]


@pytest.mark.slow
@pytest.mark.timeout(240)
@pytest.mark.clause("CPE-VII.1")
@pytest.mark.clause("CPE-VII.3")
@pytest.mark.clause("CORP-8.2")
def test_a_subscriber_who_refuses_a_major_change_stays_under_the_old_version(
    live_server: LiveServer, smtp: SmtpServer, new_context: Callable[..., BrowserContext]
) -> None:
    runtime = live_server.runtime
    clock = runtime.clock
    assert isinstance(clock, FakeClock)
    _version_without_the_new_purpose(runtime)
    refusing, accepting = make_subscriber(runtime), make_subscriber(runtime)
    refusing_router = _router(runtime, refusing, "SN4711")
    accepting_router = _router(runtime, accepting, "SN4712")

    # The privacy officer publishes 1.2 through the console API, 31 days ahead.
    officer = new_context()
    answered_banner(officer, live_server)
    officer_page = officer.new_page()
    staff_sign_in(officer_page, runtime, "privacy_officer")
    effective = (clock.now() + timedelta(days=31)).date()
    published = officer_page.request.post(
        "/api/v1/console/policy/versions",
        data={
            "folder": str(DEFAULT_PACK),
            "version": "1.2",
            "effective": effective.isoformat(),
            "summary": "Support may now answer you with your contact data.",
        },
    )
    assert published.status == 201, published.text()
    body = published.json()
    assert body["major"] and body["requires_acceptance"]
    assert [c["key"] for c in body["changes"] if c["needs_consent"]] == [NEW_PURPOSE]

    # Before the effective date, each of them gets an e-mail naming the specific change.
    subject = f"Our privacy policy changes on {effective.isoformat()}"
    for person in (refusing, accepting):
        mail = _until(lambda p=person: _mail(smtp, p.email, subject), "the notice e-mail")
        assert f"purposes: {NEW_PURPOSE} added" in mail
    # The delivery job commits ``sent_at`` just after the SMTP server has the message.
    sent_at = _until(
        lambda: _one(
            runtime,
            "SELECT max(sent_at) FROM outbox WHERE template = 'policy.changed' AND subject_id = :s",
            s=refusing.subject_id,
        ),
        "the notice's sent_at",
    )
    assert sent_at < versions.start_of(effective)

    # The refusing subscriber sees the notice on the privacy center and refuses.
    page = _signed_in(new_context, live_server, refusing)
    _answer(page, "Refuse")
    expect(page.get_by_role("status")).to_contain_text(
        "You refused version 1.2. Version 1.1 still applies to you"
    )
    page.goto("/privacy")
    expect(page.get_by_role("region", name=NOTICE_HEADING)).to_have_count(0)

    # The other one accepts.
    other = _signed_in(new_context, live_server, accepting)
    _answer(other, "Accept the new version")
    expect(other.get_by_role("status")).to_contain_text("Thank you: version 1.2 applies to you")
    answers = {
        (row.subject_id, row.kind, row.channel)
        for row in _rows(
            runtime,
            "SELECT subject_id, kind::text, channel::text FROM policy_acceptances "
            "WHERE version_id = '1.2'",
        )
    }
    assert answers == {
        (refusing.subject_id, "refuse", "web"),
        (accepting.subject_id, "accept", "web"),
    }

    # Once 1.2 is in force, support may use the accepting subscriber's data for the new
    # purpose, and the gate withholds the refusing one's: 1.1 still governs them.
    clock.advance(timedelta(days=32))
    support = new_context()
    answered_banner(support, live_server)
    support_page = support.new_page()
    staff_id = staff_sign_in(support_page, runtime, "support")
    shown = _record_cells(support_page, accepting_router)
    assert shown == ["Doorstep Router 9", "SN4712", "02:00:5e:10:00:01", "192.0.2.44"]
    withheld = _record_cells(support_page, refusing_router)
    assert withheld == [WITHHELD] * 4
    assert "SN4711" not in support_page.content()
    reasons = {
        row.details["reason"]
        for row in _rows(
            runtime,
            "SELECT details FROM audit_events WHERE action = 'personal_data.used' "
            "AND outcome = 'refused' AND subject_id = :s AND actor = :a",
            s=refusing.subject_id,
            a=f"staff:{staff_id}",
        )
    }
    assert reasons == {"policy_not_accepted"}
