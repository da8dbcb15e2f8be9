"""Sign-in and sign-out in the browser: the session cookie, wrong passwords, CSRF."""

from __future__ import annotations

from playwright.sync_api import BrowserContext, Page, expect

from tests.web.conftest import LiveServer, screenshot
from tests.web.people import make_subscriber, sign_in


def test_a_subscriber_signs_in_and_out(
    page: Page, context: BrowserContext, live_server: LiveServer
) -> None:
    person = make_subscriber(live_server.runtime)
    page.goto("/signin")
    screenshot(page, "center-signin")
    page.get_by_label("E-mail address or mobile number").fill(person.email)
    page.get_by_label("Password").fill("not the password at all")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("alert")).to_contain_text("wrong")
    assert not [c for c in context.cookies() if c["name"] == "doorstep_session"]
    sign_in(page, person, then="/")
    (session,) = [c for c in context.cookies() if c["name"] == "doorstep_session"]
    assert session["httpOnly"] and session["sameSite"] == "Lax" and session["expires"] == -1
    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_role("status")).to_contain_text("signed out")
    assert not [c for c in context.cookies() if c["name"] == "doorstep_session"]
