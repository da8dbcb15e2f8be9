"""Requests without signing in, in a browser with JavaScript off.

The form answers a known and an unknown address with the same page; the code
sent to a known address confirms the request (a wrong one is counted and
refused with the same words an unknown ticket gets); the public status page then
shows the request, and after the privacy desk approves a deletion it shows it
done although the account is gone.

The in-process worker delivers e-mail at once and, by default, blanks a sent
message's parameters (the code) straight away; these tests keep them for an hour
(``notify_purge_after_seconds``) so the code can be read from the outbox, as
``tests/accounts`` reads it.
"""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import Callable
from pathlib import Path

import pytest
import sqlalchemy as sa
from playwright.sync_api import BrowserContext, Page, expect

from doorstep.accounts.account.models import Account
from doorstep.core.settings import Settings, load_settings
from doorstep.privacy.requests.context import RequestContext
from doorstep.privacy.requests.fulfil import approve
from doorstep.privacy.requests.models import RequestKind, RequestStatus, SubjectRequest
from doorstep.wiring import build_services
from tests.web.conftest import LiveServer
from tests.web.people import make_subscriber
from tests.web.test_center_privacy_pages import STAFF, checked_screenshot

NO_PERMISSION = "We collected or used your data without your permission."
TICKET = re.compile(r"/requests/([0-9a-f-]{36})\?done=request_sent$")
ERASED_WITHIN_S = 60


@pytest.fixture
def settings(tmp_path: Path, database_url: str) -> Settings:
    """Test settings that keep a sent message's parameters for an hour (see the module doc)."""
    return load_settings(
        env="test",
        database_url=database_url,
        data_dir=tmp_path / "data",
        notify_purge_after_seconds=3600,
    )


@pytest.fixture
def browse(new_context: Callable[..., BrowserContext]) -> Callable[[], Page]:
    """A new page in a fresh context with JavaScript off (no cookies shared)."""
    return lambda: new_context(java_script_enabled=False).new_page()


def the_code(live_server: LiveServer, email: str) -> str:
    """The newest code mailed to ``email`` (from the outbox, as tests/accounts reads it)."""
    with live_server.runtime.sessions() as session:
        params = session.execute(
            sa.text(
                "SELECT params FROM outbox WHERE template = 'account.verify_email' "
                "AND email = :email ORDER BY created_at DESC, ctid DESC LIMIT 1"
            ),
            {"email": email},
        ).scalar_one()
    assert params is not None, "the code was purged before the test could read it"
    return str(params["code"])


def request_row(live_server: LiveServer, request_id: str) -> SubjectRequest | None:
    """The request with this id, if there is one."""
    with live_server.runtime.sessions() as session:
        return session.get(SubjectRequest, uuid.UUID(request_id))


def ask(page: Page, email: str) -> str:
    """Fill in the public form for a deletion; the ticket of the page it leads to."""
    page.goto("/requests/new")
    page.get_by_label("E-mail address of your account").fill(email)
    page.get_by_role("group", name="What do you ask for?").get_by_label("Delete my data").check()
    page.get_by_label(NO_PERMISSION).check()
    page.get_by_role("button", name="Send the request").click()
    found = TICKET.search(page.url)
    assert found is not None, page.url
    return found.group(1)


def test_the_public_form_answers_alike_and_the_code_confirms(
    browse: Callable[[], Page], live_server: LiveServer
) -> None:
    person = make_subscriber(live_server.runtime)
    page = browse()
    page.goto("/")
    page.get_by_role("link", name="Ask about your data without signing in").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(
        "Ask about your data without signing in"
    )
    checked_screenshot(page, "public-request-form")
    page.get_by_role("button", name="Send the request").click()  # nothing filled in
    expect(page.get_by_label("E-mail address of your account")).to_have_attribute(
        "aria-invalid", "true"
    )
    expect(page.get_by_role("group", name="What do you ask for?")).to_contain_text(
        "Choose what you ask for."
    )

    known = ask(page, person.email)
    known_text = page.get_by_role("main").inner_text().replace(known, "TICKET")
    stranger = browse()
    unknown = ask(stranger, f"nobody-{uuid.uuid4().hex[:8]}@example.org")
    assert stranger.get_by_role("main").inner_text().replace(unknown, "TICKET") == known_text
    assert "If an account uses the address you gave" in known_text
    assert request_row(live_server, unknown) is None
    row = request_row(live_server, known)
    assert row is not None and row.status is RequestStatus.VERIFYING

    code = the_code(live_server, person.email)
    wrong = "000000" if code != "000000" else "111111"
    for tab, ticket, guess in ((stranger, unknown, code), (page, known, wrong)):
        tab.get_by_label("Code from the e-mail").fill(guess)
        tab.get_by_role("button", name="Confirm my request").click()
        expect(tab.get_by_role("alert")).to_have_text("The code is wrong or has expired.")
        expect(tab.get_by_label("Code from the e-mail")).to_have_attribute("aria-invalid", "true")
        assert ticket in tab.url
    row = request_row(live_server, known)
    assert row is not None and row.proof_attempts == 1 and row.verified_at is None

    page.get_by_label("Code from the e-mail").fill(code)
    page.get_by_role("button", name="Confirm my request").click()
    expect(page.get_by_role("status")).to_contain_text("Your request is confirmed")
    assert page.url.endswith(f"/requests/status/{known}?done=request_confirmed")
    main = page.get_by_role("main")
    expect(main).to_contain_text("Deletion")
    expect(main).to_contain_text("Waiting for review by our privacy team")
    expect(main).not_to_contain_text(person.email)
    checked_screenshot(page, "public-request-status")
    row = request_row(live_server, known)
    assert row is not None and row.status is RequestStatus.IN_PROGRESS
    assert row.kind is RequestKind.DELETION and row.verification == "email_code"


def test_an_erased_requester_sees_the_deletion_done(
    browse: Callable[[], Page], live_server: LiveServer
) -> None:
    person = make_subscriber(live_server.runtime)
    page = browse()
    ticket = ask(page, person.email)
    page.get_by_label("Code from the e-mail").fill(the_code(live_server, person.email))
    page.get_by_role("button", name="Confirm my request").click()
    expect(page.get_by_role("status")).to_contain_text("Your request is confirmed")
    status_url = page.url.split("?")[0]

    ctx = RequestContext.of(build_services(live_server.runtime))
    with live_server.runtime.sessions.begin() as session:
        approve(session, ctx, uuid.UUID(ticket), actor=STAFF)  # the worker erases
    deadline = time.monotonic() + ERASED_WITHIN_S
    while True:
        row = request_row(live_server, ticket)
        assert row is not None
        if row.status is RequestStatus.COMPLETED:
            break
        assert time.monotonic() < deadline, "the erasure did not finish in time"
        time.sleep(0.2)
    with live_server.runtime.sessions() as session:
        assert session.get(Account, person.subject_id) is None

    page.goto(status_url)
    main = page.get_by_role("main")
    expect(main).to_contain_text("Done")
    expect(main).to_contain_text("Closed")
    expect(main).not_to_contain_text("Answer due by")
