"""My account, used as a person uses it (and edge cases by TestClient).

Browser journeys: signing in to reach the account page, seeing one's own details,
changing the password (a wrong current one is refused and counted; the right one
ends the other sessions and the old password), deregistering (refused while
devices are bound, done once they are unbound).  TestClient tests cover bad
input, a missing CSRF token, the lockout and that only the password is edited.
The policy page is tested in ``test_center_account_policy.py``.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable, Iterator
from dataclasses import replace

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from playwright.sync_api import BrowserContext, Page, expect

from doorstep.accounts.account.models import Account, AccountStatus
from doorstep.accounts.context import AccountContext
from doorstep.accounts.signin import ratelimit
from doorstep.accounts.signin.passwords import Passwords
from doorstep.core.runtime import Runtime
from doorstep.wiring import build_services
from tests.requests.conftest import bound_device
from tests.web.clients import page_client, sign_in_as, token_of
from tests.web.conftest import LiveServer, screenshot
from tests.web.people import Person, make_subscriber, sign_in

NEW_PASSWORD = "amber quartz meadow 1987 ferry"
_TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')


# -- helpers ----------------------------------------------------------------------------


def bind_device(runtime: Runtime, subject: uuid.UUID, model: str) -> uuid.UUID:
    """A device bound to ``subject`` (committed), as tests/requests writes one."""
    keys = build_services(runtime).keys
    with runtime.sessions.begin() as db:
        return bound_device(db, keys, runtime.clock, subject, model=model)


def unbind_device(runtime: Runtime, device: uuid.UUID) -> None:
    """End the device's binding (as tests/requests/test_corrections.py does)."""
    with runtime.sessions.begin() as db:
        db.execute(
            sa.text(
                "UPDATE device_bindings SET unbound_at = :now, end_reason = 'unbound' "
                "WHERE device_id = :d"
            ),
            {"now": runtime.clock.now(), "d": device},
        )


def account_row(runtime: Runtime, subject: uuid.UUID) -> Account:
    """The account as stored now."""
    with runtime.sessions() as db:
        account = db.get(Account, subject)
        assert account is not None
        db.expunge(account)
        return account


def password_is(runtime: Runtime, subject: uuid.UUID, password: str) -> bool:
    """Whether the stored hash is of ``password``."""
    stored = account_row(runtime, subject).password_hash
    return stored is not None and Passwords.from_settings(runtime.settings).verify(stored, password)


def wrong_passwords(runtime: Runtime, subject: uuid.UUID) -> int:
    """Wrong passwords counted against the account (the ``reauth`` lockout bucket)."""
    ctx = AccountContext.for_runtime(runtime)
    key = ratelimit.bucket(ctx, "reauth", str(subject))
    with runtime.sessions() as db:
        return ratelimit.current(db, key, ratelimit.lockout_limit(ctx), now=ctx.clock.now()).hits


def has_session_cookie(context: BrowserContext) -> bool:
    """Whether the browser holds the subscriber's session cookie."""
    return any(cookie["name"] == "doorstep_session" for cookie in context.cookies())


# -- browser journeys -------------------------------------------------------------------


@pytest.mark.clause("CPE-V.1.a")
def test_my_account_shows_my_details_and_changes_my_password(
    page: Page,
    context: BrowserContext,
    new_context: Callable[..., BrowserContext],
    live_server: LiveServer,
) -> None:
    runtime = live_server.runtime
    person, someone_else = make_subscriber(runtime), make_subscriber(runtime)
    # Signed out, the account page sends the browser to sign in, and back after.
    page.goto("/account")
    assert "/signin?next=%2Faccount" in page.url
    page.get_by_label("E-mail address or mobile number").fill(person.email)
    page.get_by_label("Password").fill(person.password)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url("**/account")
    page.get_by_role("button", name="Essential cookies only").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("My account")
    details = page.locator("dl.facts").first
    expect(details).to_contain_text(person.email)
    expect(details).to_contain_text(person.phone)
    expect(details).to_contain_text("confirmed")
    expect(details).to_contain_text("Active")
    assert someone_else.email not in page.content()
    expect(page.get_by_role("link", name="Ask for a correction")).to_have_attribute(
        "href", "/privacy/requests#correction"
    )
    screenshot(page, "center-account")

    # Another session of the same account (another browser), to be ended by the change.
    elsewhere = new_context().new_page()
    sign_in(elsewhere, person, then="/account")

    # A wrong current password: refused, counted, nothing changed.
    page.get_by_label("Current password").fill("not my password at all")
    page.get_by_label("New password", exact=True).fill(NEW_PASSWORD)
    page.get_by_label("New password again").fill(NEW_PASSWORD)
    page.get_by_role("button", name="Change the password").click()
    alert = page.locator("#password").get_by_role("alert")
    expect(alert).to_contain_text("current password is wrong")
    left = runtime.settings.account_signin_max_failures - 1
    expect(alert).to_contain_text(f"{left} more tr")
    assert wrong_passwords(runtime, person.subject_id) == 1
    assert password_is(runtime, person.subject_id, person.password)

    # The right one, typed and submitted from the keyboard.
    page.get_by_label("Current password").fill(person.password)
    page.get_by_label("New password", exact=True).fill(NEW_PASSWORD)
    page.get_by_label("New password again").fill(NEW_PASSWORD)
    page.keyboard.press("Enter")
    page.wait_for_url("**/account?done=password_changed#main")
    expect(page.get_by_role("status")).to_contain_text("Your password is changed")
    assert password_is(runtime, person.subject_id, NEW_PASSWORD)
    assert wrong_passwords(runtime, person.subject_id) == 0
    # This session goes on; the other one has ended.
    page.reload()
    expect(page.get_by_role("heading", level=1)).to_have_text("My account")
    elsewhere.goto("/account")
    assert "/signin?next=%2Faccount" in elsewhere.url
    # The old password no longer signs in; the new one does.
    again = new_context().new_page()
    again.goto("/signin")
    again.get_by_label("E-mail address or mobile number").fill(person.email)
    again.get_by_label("Password").fill(person.password)
    again.get_by_role("button", name="Sign in").click()
    expect(again.get_by_role("alert")).to_contain_text("wrong")
    sign_in(again, replace(person, password=NEW_PASSWORD), then="/account")


@pytest.mark.clause("CPE-V.5.a")
@pytest.mark.clause("CPE-V.5.c")
def test_deregistration_waits_for_the_devices_then_closes_the_account(
    page: Page,
    context: BrowserContext,
    new_context: Callable[..., BrowserContext],
    live_server: LiveServer,
) -> None:
    runtime = live_server.runtime
    person = make_subscriber(runtime)
    devices = [
        bind_device(runtime, person.subject_id, "ZXHN H196A"),
        bind_device(runtime, person.subject_id, "ZXHN F670L"),
    ]
    sign_in(page, person, then="/account")
    page.get_by_role("button", name="Essential cookies only").click()
    section = page.locator("#deregister")
    expect(section).to_contain_text("Signing in stops at once")

    section.get_by_label("Your password, to confirm").fill(person.password)
    section.get_by_role("button", name="Deregister my account").click()
    expect(section.get_by_role("alert")).to_contain_text("still bound")
    expect(section.get_by_role("alert")).to_contain_text("Unbind")
    for device, model in zip(devices, ("ZXHN H196A", "ZXHN F670L"), strict=True):
        link = section.get_by_role("link", name=model)
        expect(link).to_have_attribute("href", f"/devices/{device}")
    screenshot(page, "center-account-deregistration-refused")
    assert account_row(runtime, person.subject_id).status is AccountStatus.ACTIVE
    assert has_session_cookie(context)

    for device in devices:
        unbind_device(runtime, device)
    section.get_by_label("Your password, to confirm").fill(person.password)
    section.get_by_role("button", name="Deregister my account").click()
    page.wait_for_url("**/?done=deregistered#main")
    expect(page.get_by_role("status")).to_contain_text("Your account is deregistered")
    expect(
        page.get_by_role("navigation", name="Main").get_by_role("link", name="Sign in")
    ).to_be_visible()
    assert not has_session_cookie(context)
    assert account_row(runtime, person.subject_id).status is AccountStatus.DEREGISTERED

    # Signing in no longer works.
    page.goto("/signin")
    page.get_by_label("E-mail address or mobile number").fill(person.email)
    page.get_by_label("Password").fill(person.password)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("alert")).to_contain_text("wrong")
    assert not has_session_cookie(context)


# -- cheaper checks with TestClient -----------------------------------------------------


@pytest.fixture
def client(runtime: Runtime) -> Iterator[TestClient]:
    """The app on the test's rolled-back transaction."""
    with page_client(runtime, raise_server_exceptions=False) as test_client:
        yield test_client


def signed_in(client: TestClient, person: Person) -> str:
    """Sign ``client`` in as ``person``; the account page's CSRF token."""
    sign_in_as(client, person, then="/account")
    return token_of(client, "/account")


def test_the_account_page_needs_a_signed_in_subscriber(client: TestClient) -> None:
    answer = client.get("/account", follow_redirects=False)
    assert answer.status_code == 303
    assert answer.headers["location"] == "/signin?next=%2Faccount"
    answer = client.get("/account/deregister", follow_redirects=False)
    assert answer.status_code == 303 and answer.headers["location"] == "/account"


def test_forms_without_the_csrf_token_change_nothing(client: TestClient, runtime: Runtime) -> None:
    person = make_subscriber(runtime)
    signed_in(client, person)
    answer = client.post(
        "/account/password",
        data={
            "current_password": person.password,
            "new_password": NEW_PASSWORD,
            "new_password_again": NEW_PASSWORD,
        },
    )
    assert answer.status_code == 403
    assert password_is(runtime, person.subject_id, person.password)
    answer = client.post(
        "/account/deregister", data={"password": person.password, "csrf_token": "s.forged"}
    )
    assert answer.status_code == 403
    assert account_row(runtime, person.subject_id).status is AccountStatus.ACTIVE


@pytest.mark.parametrize(
    ("form", "field", "message"),
    [
        ({"current_password": ""}, "current_password", "Enter your current password."),
        ({"new_password_again": "something else"}, "new_password_again", "are not the same"),
        ({"new_password": "short", "new_password_again": "short"}, "new_password", "too short"),
        (
            {"new_password": "password123456", "new_password_again": "password123456"},
            "new_password",
            "too common",
        ),
    ],
)
def test_bad_password_input_is_marked_and_changes_nothing(
    client: TestClient, runtime: Runtime, form: dict[str, str], field: str, message: str
) -> None:
    person = make_subscriber(runtime)
    data = {
        "current_password": person.password,
        "new_password": NEW_PASSWORD,
        "new_password_again": NEW_PASSWORD,
        "csrf_token": signed_in(client, person),
        **form,
    }
    answer = client.post("/account/password", data=data)
    assert answer.status_code == 422
    error = re.search(rf'<p class="error" id="f-{field}-error">([^<]*)</p>', answer.text)
    assert error is not None and message in error.group(1)
    assert 'aria-invalid="true"' in answer.text
    assert password_is(runtime, person.subject_id, person.password)
    assert wrong_passwords(runtime, person.subject_id) == 0


def test_wrong_passwords_lock_the_forms(client: TestClient, runtime: Runtime) -> None:
    person = make_subscriber(runtime)
    token = signed_in(client, person)
    limit = runtime.settings.account_signin_max_failures
    for attempt in range(limit):
        answer = client.post(
            "/account/deregister", data={"password": f"wrong {attempt}", "csrf_token": token}
        )
        assert answer.status_code == 401
        assert "your account was not deregistered" in answer.text
    assert "this form is now locked" in answer.text
    assert wrong_passwords(runtime, person.subject_id) == limit
    # Locked: even the right password is refused until the window ends.
    answer = client.post(
        "/account/password",
        data={
            "current_password": person.password,
            "new_password": NEW_PASSWORD,
            "new_password_again": NEW_PASSWORD,
            "csrf_token": token,
        },
    )
    assert answer.status_code == 429
    assert "Too many wrong passwords" in answer.text
    assert password_is(runtime, person.subject_id, person.password)
    assert account_row(runtime, person.subject_id).status is AccountStatus.ACTIVE


@pytest.mark.clause("CPE-V.2.a")
def test_only_the_password_is_edited_on_the_account_page(
    client: TestClient, runtime: Runtime
) -> None:
    person = make_subscriber(runtime)
    signed_in(client, person)
    page = client.get("/account").text
    assert person.email in page and person.phone in page
    inputs = set(re.findall(r'<input id="f-[^"]+" name="([^"]+)"', page))
    assert inputs == {"current_password", "new_password", "new_password_again", "password"}
    assert 'href="/privacy/requests#correction"' in page
    for path in ("/account", "/account/email"):
        answer = client.post(path, data={"email": "new@example.org"})
        assert answer.status_code in (404, 405)
    assert account_row(runtime, person.subject_id).email == person.email
