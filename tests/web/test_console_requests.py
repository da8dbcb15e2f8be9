"""The operator console's sign-in and privacy desk, used as staff use them, in Chromium.

Requests are opened with the requests services on the committed runtime and
the fake clock moves them past their deadlines.  The server runs without its
job worker, so the notices the decisions queue stay in the outbox for the
tests to read.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from playwright.sync_api import BrowserContext, Page, expect

from doorstep.core.clock import FakeClock
from doorstep.core.runtime import Runtime
from doorstep.privacy.requests import services as svc
from doorstep.privacy.requests.context import RequestContext
from doorstep.privacy.requests.models import RequestStatus, SubjectRequest
from doorstep.staff.signin import issue_link
from tests.web.conftest import LiveServer, screenshot
from tests.web.people import Person, make_staff, make_subscriber, staff_sign_in

DESK = "staff:" + str(uuid.UUID(int=8))


@pytest.fixture
def live_server(serve_live: Callable[..., LiveServer]) -> LiveServer:
    """The app served without its job worker (notices stay in the outbox, unsent)."""
    return serve_live(worker=False)


def open_request(
    live: LiveServer, person: Person, kind: str = "restriction", **extra: Any
) -> uuid.UUID:
    """A verified request of ``person`` (gdpr unless ``jurisdiction`` says), by e-mail."""
    ctx = RequestContext.of(live.app.state.services)
    if kind == "restriction":
        extra.setdefault("purpose", "notification.delivery")
    extra.setdefault("jurisdiction", "gdpr")
    with live.runtime.sessions.begin() as session:
        row = svc.open_request(
            session,
            ctx,
            subject_id=person.subject_id,
            kind=kind,
            channel="email",
            actor=DESK,
            **extra,
        )
        svc.verify(session, ctx, row.id, method="email_code", actor=DESK)
        return row.id


def stored(runtime: Runtime, request_id: uuid.UUID) -> SubjectRequest:
    """The request as the database holds it now."""
    with runtime.sessions() as session:
        return svc.get(session, request_id)


def outbox(runtime: Runtime, template: str, email: str) -> list[dict[str, Any]]:
    """The parameters of every queued message of ``template`` to ``email``."""
    with runtime.sessions() as session:
        rows = session.execute(
            sa.text("SELECT params FROM outbox WHERE template = :t AND email = :e"),
            {"t": template, "e": email},
        )
        return [dict(row.params or {}) for row in rows]


def events(runtime: Runtime, action: str) -> list[tuple[str, str, dict[str, Any]]]:
    """(actor, outcome, details) of every audit event of ``action``, oldest first."""
    with runtime.sessions() as session:
        rows = session.execute(
            sa.text(
                "SELECT actor, outcome, details FROM audit_events WHERE action = :a ORDER BY id"
            ),
            {"a": action},
        )
        return [(row.actor, row.outcome, dict(row.details)) for row in rows]


def reference(request_id: uuid.UUID) -> str:
    """The short reference the console shows for a request."""
    return request_id.hex[:8]


def answered_banner(context: BrowserContext, live: LiveServer) -> None:
    """The cookie banner answered (essential only), so screenshots show the page itself."""
    context.add_cookies([{"name": "doorstep_cookies", "value": "essential", "url": live.url}])


def console_cookies(context: BrowserContext) -> list[dict[str, Any]]:
    """The browser's console session cookies."""
    return [dict(c) for c in context.cookies() if c["name"] == "doorstep_console"]


# -- sign-in ---------------------------------------------------------------------------


def test_staff_sign_in_with_a_one_time_link_and_out(
    page: Page,
    context: BrowserContext,
    new_context: Callable[..., BrowserContext],
    live_server: LiveServer,
) -> None:
    runtime = live_server.runtime
    answered_banner(context, live_server)
    page.goto("/console/audit")
    page.wait_for_url("**/console/sign-in?next=%2Fconsole%2Faudit")
    expect(page.get_by_role("heading", level=1)).to_have_text("Staff sign-in")
    expect(page.get_by_text("doorstep staff sign-in-link STAFF_ID")).to_be_visible()
    expect(page.get_by_role("button", name="Sign in to the console")).to_have_count(0)

    staff_id = make_staff(runtime, "privacy_officer")
    with runtime.sessions.begin() as session:
        token = issue_link(session, staff_id, clock=runtime.clock)
    page.goto(f"/console/sign-in?token={token}&next=/console/audit")
    page.reload()  # opening the link twice spends nothing
    screenshot(page, "console-sign-in")
    page.get_by_role("button", name="Sign in to the console").click()
    page.wait_for_url("**/console/audit")
    expect(page.get_by_role("heading", level=1)).to_have_text("Audit trail")
    (cookie,) = console_cookies(context)
    assert cookie["httpOnly"] and cookie["sameSite"] == "Strict" and cookie["expires"] == -1

    other = new_context().new_page()  # the same link, from another browser: spent
    other.goto(f"/console/sign-in?token={token}")
    other.get_by_role("button", name="Sign in to the console").click()
    expect(other.get_by_role("alert")).to_contain_text("cannot be used")
    expect(other.get_by_role("button", name="Sign in to the console")).to_have_count(0)
    assert not console_cookies(other.context)

    page.get_by_role("button", name="Sign out").click()
    page.wait_for_url("**/console/sign-in?done=console_signed_out")
    expect(page.get_by_role("status")).to_contain_text("signed out of the console")
    assert not console_cookies(context)
    page.goto("/console/requests")
    page.wait_for_url("**/console/sign-in?next=*")
    actors = [actor for actor, _, _ in events(runtime, "staff.signed_out")]
    assert actors == [f"staff:{staff_id}"]
    with runtime.sessions() as session:
        live = session.execute(
            sa.text("SELECT count(*) FROM staff_tokens WHERE staff_id = :s AND ended_at IS NULL"),
            {"s": staff_id},
        ).scalar_one()
    assert live == 0


def test_a_new_link_works_in_a_browser_whose_session_expired(
    page: Page, context: BrowserContext, live_server: LiveServer, clock: FakeClock
) -> None:
    runtime = live_server.runtime
    staff_id = staff_sign_in(page, runtime, "support")
    clock.advance(timedelta(hours=runtime.settings.staff_session_hours, minutes=1))
    assert console_cookies(context)  # the browser still holds the dead session's cookie
    with runtime.sessions.begin() as session:
        token = issue_link(session, staff_id, clock=runtime.clock)
    page.goto(f"/console/sign-in?token={token}")
    page.get_by_role("button", name="Sign in to the console").click()
    page.wait_for_url("**/console/requests")
    expect(page.get_by_role("heading", level=1)).to_have_text("Data-subject requests")


# -- the privacy desk ------------------------------------------------------------------


@pytest.mark.clause("CPE-V.6.b")
def test_the_queue_shows_overdue_requests_first_in_words(
    page: Page, context: BrowserContext, live_server: LiveServer, clock: FakeClock
) -> None:
    answered_banner(context, live_server)
    person = make_subscriber(live_server.runtime)
    # The policy's own rule (30 days), not GDPR's calendar month.
    early = open_request(live_server, person, jurisdiction="default")
    clock.advance(timedelta(days=20))
    later = open_request(live_server, person, jurisdiction="default")
    clock.advance(timedelta(days=10, hours=1))  # the first is one hour past its 30 days
    newest = open_request(live_server, person, kind="access")
    staff_sign_in(page, live_server.runtime, "privacy_officer")
    rows = page.get_by_role("row")
    expect(rows).to_have_count(4)  # the header and three requests
    expect(rows.nth(1)).to_contain_text(reference(early))
    expect(rows.nth(1).get_by_role("cell").nth(4)).to_have_text("Overdue")  # a word, not a colour
    expect(rows.nth(2)).to_contain_text(reference(later))
    expect(rows.nth(3)).to_contain_text(reference(newest))
    expect(page.get_by_role("cell", name="Overdue", exact=True)).to_have_count(1)
    screenshot(page, "console-requests")

    page.get_by_label("Overdue only").check()
    page.get_by_role("button", name="Show").click()
    page.wait_for_url("**/console/requests?status=&overdue=1")
    expect(page.get_by_role("link", name=f"Request {reference(early)}")).to_be_visible()
    expect(page.get_by_role("link", name=f"Request {reference(later)}")).to_have_count(0)
    page.get_by_label("Overdue only").uncheck()
    page.get_by_label("Status").select_option("verifying")
    page.get_by_role("button", name="Show").click()
    expect(page.get_by_text("No request matches.")).to_be_visible()
    viewed = events(live_server.runtime, "requests.queue_viewed")
    assert [details["count"] for _, _, details in viewed] == [3, 1, 0]


@pytest.mark.clause("CPE-V.6.d")
@pytest.mark.clause("CPE-V.6.e")
@pytest.mark.clause("CPE-IX.4")
def test_a_privacy_officer_refuses_with_a_code_and_the_evidence_it_needs(
    page: Page, context: BrowserContext, live_server: LiveServer
) -> None:
    answered_banner(context, live_server)
    runtime = live_server.runtime
    person = make_subscriber(runtime)
    request_id = open_request(live_server, person)
    officer = staff_sign_in(page, runtime, "privacy_officer")
    page.get_by_role("link", name=f"Request {reference(request_id)}").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Request {reference(request_id)}")
    expect(page.get_by_text(str(person.subject_id))).to_be_visible()
    screenshot(page, "console-request")
    viewed = events(runtime, "request.viewed")
    assert [(actor, details["request"]) for actor, _, details in viewed] == [
        (f"staff:{officer}", str(request_id))
    ]

    page.get_by_label("Reason").select_option("MALICE_OR_ABUSE")
    page.get_by_role("button", name="Refuse the request").click()
    expect(page.get_by_role("alert")).to_contain_text("Please correct")
    evidence = page.get_by_label("Evidence reference")
    expect(evidence).to_have_attribute("aria-invalid", "true")
    expect(page.locator("#f-evidence-error")).to_contain_text("needs a reference to its evidence")
    expect(page.get_by_label("Reason")).to_have_value("MALICE_OR_ABUSE")  # the form is kept
    assert stored(runtime, request_id).status is RequestStatus.IN_PROGRESS
    assert not outbox(runtime, "request.refused", person.email)

    evidence.fill("TICKET-4711")
    page.get_by_role("button", name="Refuse the request").click()
    page.wait_for_url(f"**/console/requests/{request_id}?done=request_refused")
    expect(page.get_by_role("status")).to_contain_text("The request is refused")
    expect(page.get_by_role("button", name="Refuse the request")).to_have_count(0)
    row = stored(runtime, request_id)
    assert row.status is RequestStatus.REFUSED and row.refusal_code == "MALICE_OR_ABUSE"
    assert row.reviewer == f"staff:{officer}"
    (told,) = outbox(runtime, "request.refused", person.email)
    assert "malice" in told["reason"] and "data protection authority" in told["complaint"]
    refused = events(runtime, "request.refused")
    assert [(actor, details["evidence"]) for actor, _, details in refused] == [
        (f"staff:{officer}", "TICKET-4711")
    ]


def test_a_privacy_officer_approves_a_restriction_and_extends_a_request(
    page: Page, live_server: LiveServer
) -> None:
    runtime = live_server.runtime
    person = make_subscriber(runtime)
    restriction = open_request(live_server, person)
    access = open_request(live_server, person, kind="access")
    correction = open_request(
        live_server, person, kind="correction", element="accounts.email", value="new@example.org"
    )
    staff_sign_in(page, runtime, "privacy_officer")

    page.goto(f"/console/requests/{correction}")
    expect(page.get_by_text("accounts.email")).to_be_visible()  # the element, never the value
    assert "new@example.org" not in page.content()

    page.goto(f"/console/requests/{restriction}")
    page.get_by_role("button", name="Approve the request").click()
    page.wait_for_url(f"**/console/requests/{restriction}?done=request_completed")
    expect(page.get_by_role("status")).to_contain_text("carried out and closed")
    assert stored(runtime, restriction).status is RequestStatus.COMPLETED
    with runtime.sessions() as session:
        purposes = session.execute(
            sa.text("SELECT purpose FROM restrictions WHERE subject_id = :s AND lifted_at IS NULL"),
            {"s": person.subject_id},
        ).scalars()
        assert list(purposes) == ["notification.delivery"]
    assert len(outbox(runtime, "request.completed", person.email)) == 1

    page.goto(f"/console/requests/{access}")
    before = stored(runtime, access).due_at
    page.get_by_label("By").select_option("2")
    page.get_by_role("button", name="Extend the deadline").click()  # no reason: not sent
    assert page.get_by_label("Why").evaluate("select => select.validity.valueMissing")
    assert page.url.endswith(f"/console/requests/{access}")
    assert stored(runtime, access).status is RequestStatus.IN_PROGRESS
    page.get_by_label("Why").select_option("complexity")
    page.get_by_role("button", name="Extend the deadline").click()
    page.wait_for_url(f"**/console/requests/{access}?done=request_extended")
    expect(page.get_by_role("status")).to_contain_text("deadline is extended")
    row = stored(runtime, access)
    assert row.status is RequestStatus.EXTENDED and row.extended_months == 2
    assert row.due_at > before + timedelta(days=58)
    (told,) = outbox(runtime, "request.extended", person.email)
    assert told["due"] == row.due_at.date().isoformat()
    expect(page.locator("dd", has_text="2 months")).to_be_visible()
    expect(page.get_by_role("button", name="Extend the deadline")).to_have_count(0)

    page.get_by_role("link", name="Back to the queue").click()
    expect(page.get_by_role("link", name=f"Request {reference(restriction)}")).to_have_count(0)
    expect(page.get_by_role("link", name=f"Request {reference(access)}")).to_be_visible()


@pytest.mark.clause("CPE-IV.1.a")
def test_support_sees_requests_but_cannot_decide_and_an_admin_cannot_see_them(
    page: Page, new_context: Callable[..., BrowserContext], live_server: LiveServer
) -> None:
    runtime = live_server.runtime
    request_id = open_request(live_server, make_subscriber(runtime))
    support = staff_sign_in(page, runtime, "support")
    page.get_by_role("link", name=f"Request {reference(request_id)}").click()
    expect(page.get_by_text("Only a privacy officer decides requests.")).to_be_visible()
    for button in ("Approve the request", "Refuse the request", "Extend the deadline"):
        expect(page.get_by_role("button", name=button)).to_have_count(0)
    token = page.locator('input[name="csrf_token"]').first.input_value()
    forged = page.request.post(
        f"/console/requests/{request_id}/approve", form={"csrf_token": token}
    )
    assert forged.status == 403
    assert stored(runtime, request_id).status is RequestStatus.IN_PROGRESS
    assert ("staff:" + str(support), "refused") in [
        (actor, outcome) for actor, outcome, _ in events(runtime, "staff.decide_requests")
    ]
    assert not events(runtime, "request.completed")

    admin_page = new_context().new_page()
    staff_sign_in(admin_page, runtime, "admin")  # the queue is where sign-in leads
    expect(admin_page.get_by_role("heading", level=1)).to_have_text("Sorry")
    answer = admin_page.goto(f"/console/requests/{request_id}")
    assert answer is not None and answer.status == 403
    expect(admin_page.get_by_text("not allowed")).to_be_visible()


def test_the_console_works_by_keyboard_with_labels_and_headings(
    page: Page, context: BrowserContext, live_server: LiveServer
) -> None:
    from tests.web.checks import CHECK_PAGE

    runtime = live_server.runtime
    request_id = open_request(live_server, make_subscriber(runtime))
    staff_id = make_staff(runtime, "privacy_officer")
    with runtime.sessions.begin() as session:
        token = issue_link(session, staff_id, clock=runtime.clock)
    page.goto(f"/console/sign-in?token={token}")
    for _ in range(20):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.textContent") == "Sign in to the console":
            break
    page.keyboard.press("Enter")
    page.wait_for_url("**/console/requests")
    for _ in range(30):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.textContent") == (
            f"Request {reference(request_id)}"
        ):
            break
    page.keyboard.press("Enter")
    page.wait_for_url(f"**/console/requests/{request_id}")
    page.get_by_label("Reason").focus()
    page.keyboard.press("End")  # the last reason: IDENTITY_NOT_PROVEN
    page.keyboard.press("Tab")
    page.keyboard.press("Tab")
    expect(page.get_by_role("button", name="Refuse the request")).to_be_focused()
    page.keyboard.press("Enter")
    page.wait_for_url(f"**/console/requests/{request_id}?done=request_refused")
    assert stored(runtime, request_id).refusal_code == "IDENTITY_NOT_PROVEN"
    for path in (
        "/console/requests",
        f"/console/requests/{request_id}",
        "/console/retention",
        "/console/datamap",
        "/console/audit",
        "/console/devices",
    ):
        answer = page.goto(path)
        assert answer is not None and answer.status == 200, path
        assert page.evaluate(CHECK_PAGE) == [], path
    context.clear_cookies()
    page.goto("/console/sign-in")
    assert page.evaluate(CHECK_PAGE) == []
