"""The whole system as two people use it, in Chromium: a subscriber and the privacy desk.

A newcomer signs up (the e-mail code arrives by real SMTP on loopback; the SMS
provider is the one mock, so the text message's code is read from what was handed
to it), confirms, signs in, binds a simulated router by typing its claim code,
sets its Wi-Fi, sees who is connected, downloads their data, and asks for their
data to be deleted.  A privacy officer signs in to the console with a one-time
link, finds the request and approves it; the worker erases the subscriber; the
status page the subscriber kept says it is done, the confirmation arrives by
e-mail, and the account no longer signs in.
"""

from __future__ import annotations

import io
import json
import re
import time
import zipfile
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import sqlalchemy as sa
from playwright.sync_api import BrowserContext, expect

from doorstep.core.runtime import Runtime
from tests.notify.conftest import SmtpServer, smtp_settings, with_settings
from tests.web.conftest import LiveServer, running, screenshot
from tests.web.people import Person, staff_sign_in

PASSWORD = "a long and quiet walk home 77"
SSID = "Device.WiFi.SSID.1.SSID"


@pytest.fixture
def smtp() -> Iterator[SmtpServer]:
    """A plain SMTP server on loopback that records what it accepts."""
    server = SmtpServer().start()
    yield server
    server.stop()


@pytest.fixture
def live_server(committed: Runtime, smtp: SmtpServer) -> Iterator[LiveServer]:
    """This module's app: its worker, simulated routers, and e-mail to the loopback server.

    Sent messages keep their parameters for an hour (``notify_purge_after_seconds``) so
    the test can read what was handed to the SMS provider.
    """
    runtime = with_settings(committed, **smtp_settings(smtp), notify_purge_after_seconds=3600)
    with running(runtime, devices=True) as server:
        yield server


def _until(found: Callable[[], Any], what: str, timeout: float = 30) -> Any:
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
            return message.text
    return ""


def _sms_code(runtime: Runtime, phone: str) -> str:
    with runtime.engine.connect() as connection:
        params = connection.execute(
            sa.text(
                "SELECT params FROM outbox WHERE template = 'account.verify_phone' "
                "AND phone = :p AND params IS NOT NULL ORDER BY created_at DESC LIMIT 1"
            ),
            {"p": phone},
        ).scalar()
    return str(params["code"]) if params else ""


def _one(runtime: Runtime, query: str, **params: object) -> Any:
    with runtime.engine.connect() as connection:
        return connection.execute(sa.text(query), params).scalar()


@pytest.mark.slow
@pytest.mark.timeout(240)
@pytest.mark.clause("CPE-I.i.1.a")
@pytest.mark.clause("CPE-V.1.d")
@pytest.mark.clause("CPE-V.3.a")
def test_a_subscriber_joins_uses_their_router_takes_their_data_and_leaves(
    live_server: LiveServer, smtp: SmtpServer, new_context: Callable[..., BrowserContext]
) -> None:
    server = live_server
    runtime = server.runtime
    page = new_context(accept_downloads=True).new_page()
    person = Person(subject_id=None, email="journey@example.org", phone="+4915112345678")  # type: ignore[arg-type]
    router, gateway = server.add_devices(2)

    with server.fleet([router, gateway]):
        # Sign up, then prove the address and the number.
        page.goto("/")
        page.get_by_role("link", name="Create an account").first.click()
        page.get_by_label("E-mail address", exact=True).fill(person.email)
        page.get_by_label("Mobile number").fill(person.phone)
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_label("Your age").fill("34")
        screenshot(page, "journey-signup")
        page.get_by_role("button", name="Create my account").click()
        # A German number, relays in CN: the codes go abroad only if the subscriber agrees.
        page.get_by_label("I agree to this transfer.").check()
        page.get_by_label("Password").fill(PASSWORD)
        screenshot(page, "journey-signup-transfer")
        page.get_by_role("button", name="Create my account").click()
        expect(page.get_by_role("heading", level=1)).to_contain_text("Confirm your e-mail")
        mail = _until(lambda: _mail(smtp, person.email, "Your verification code"), "the e-mail")
        email_code = re.search(r"\b(\d{6})\b", mail)
        assert email_code is not None
        sms_code = _until(lambda: _sms_code(runtime, person.phone), "the text message")
        page.get_by_label("Code from the e-mail").fill(email_code.group(1))
        page.get_by_label("Code from the text message").fill(sms_code)
        screenshot(page, "journey-verify")
        page.get_by_role("button", name="Confirm").click()
        page.wait_for_url("**/signin?done=verified")
        expect(page.get_by_role("status")).to_contain_text("Your account is ready")

        # Sign in and bind the router by typing the code on its label.
        page.get_by_label("E-mail address or mobile number").fill(person.email)
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_role("button", name="Sign in").click()
        page.wait_for_url("**/devices")
        page.get_by_label("Claim code").fill(router.display_claim_code())
        page.get_by_role("button", name="Add the device").click()
        expect(page.get_by_role("status").first).to_contain_text("now bound to your account")
        expect(page.get_by_role("heading", level=1)).to_have_text(router.profile.model_name)

        # Set the Wi-Fi: the router gets it; the cloud keeps nothing of it.
        page.get_by_label("Network name (SSID)").fill("journey-home-net")
        page.get_by_label("Wi-Fi password").fill("journey passphrase 9")
        page.get_by_role("button", name="Set the Wi-Fi").click()
        expect(page.get_by_role("status").first).to_contain_text("new Wi-Fi name and password")
        assert router.model.values[SSID] == "journey-home-net"

        # Who is connected, read live from the router.
        live = page.locator("#live").get_by_role("table")
        for host in router.profile.hosts:
            if host.active:
                expect(live).to_contain_text(host.host_name)
        screenshot(page, "journey-device")

    # Download my data: the worker prepares it; the page says when it is ready.
    page.goto("/privacy/data")
    page.get_by_role("button", name="Get a copy of my data").click()
    download_link = page.get_by_role("link", name=re.compile("^Download"))
    for _ in range(60):
        if download_link.count():
            break
        page.wait_for_timeout(500)
        page.reload()
    with page.expect_download() as downloaded:
        download_link.first.click()
    archive = zipfile.ZipFile(io.BytesIO(downloaded.value.path().read_bytes()))
    data = json.loads(archive.read("data.json"))
    assert data["tables"]["accounts"][0]["email"] == person.email
    assert {"device_bindings", "consent_events", "subject_requests"} & set(data["tables"])
    screenshot(page, "journey-data")

    # Ask for deletion, with a ground, and keep the status page's link.
    page.goto("/privacy/requests")
    page.get_by_label("We collected or used your data without your permission.").check()
    page.get_by_role("button", name="Ask for deletion").click()
    expect(page.get_by_role("status").first).to_be_visible()
    subject_id = _one(runtime, "SELECT id FROM accounts WHERE email = :e", e=person.email)
    request_id = _one(
        runtime,
        "SELECT id FROM subject_requests WHERE subject_id = :s AND kind = 'deletion'",
        s=subject_id,
    )
    page.goto(f"/privacy/requests/{request_id}")
    page.get_by_role("link", name="Open the status page").click()
    status_url = page.url
    expect(page.get_by_role("main")).to_contain_text("Waiting for review")

    # The privacy officer approves it in the console.
    desk = new_context().new_page()
    staff_sign_in(desk, runtime, "privacy_officer")
    desk.get_by_role("link", name=f"Request {str(request_id).replace('-', '')[:8]}").click()
    expect(desk.get_by_role("main")).to_contain_text("deletion")
    desk.get_by_role("button", name="Approve the request").click()
    expect(desk.get_by_role("status").first).to_be_visible()
    screenshot(desk, "journey-console-approved")

    # The worker erases the subscriber; the kept link says it is done.
    _until(
        lambda: _one(runtime, "SELECT count(*) FROM subjects WHERE id = :s", s=subject_id) == 0,
        "the erasure",
        timeout=60,
    )
    page.goto(status_url)
    expect(page.get_by_role("main")).to_contain_text("Done")
    screenshot(page, "journey-deletion-done")
    confirmation = _until(
        lambda: _mail(smtp, person.email, "Your request has been carried out"), "the confirmation"
    )
    assert str(request_id) in confirmation
    assert _one(runtime, "SELECT count(*) FROM accounts WHERE email = :e", e=person.email) == 0
    page.goto("/signin")
    page.get_by_label("E-mail address or mobile number").fill(person.email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("alert")).to_contain_text("wrong")
