"""Cookies as the policy promises (CPE-II, CORP-2.x): essential only by default, preferences
only after consent through the banner, DNT and GPC honoured as refusals, nothing third-party.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest
from playwright.sync_api import BrowserContext, Page, expect

from tests.web.conftest import LiveServer, screenshot
from tests.web.people import make_subscriber, sign_in

BANNER = "Cookies on this site"


def _names(context: BrowserContext) -> set[str]:
    return {cookie["name"] for cookie in context.cookies()}


def _visit_everything(page: Page) -> None:
    for path in ("/", "/signin", "/signup", "/cookies", "/policy"):
        page.goto(path)


@pytest.mark.clause("CORP-2.1")
@pytest.mark.clause("CPE-II.1")
def test_a_visitor_gets_no_cookie_and_a_banner_until_they_choose(
    page: Page, context: BrowserContext, live_server: LiveServer
) -> None:
    requested: list[str] = []
    page.on("request", lambda request: requested.append(request.url))
    _visit_everything(page)
    assert _names(context) == set()
    expect(page.get_by_role("region", name=BANNER)).to_be_visible()
    assert requested and all(url.startswith(live_server.url) for url in requested)
    screenshot(page, "cookie-banner")


@pytest.mark.clause("CORP-2.1")
@pytest.mark.clause("CORP-2.3")
def test_preference_cookies_only_after_consent_and_gone_after_refusal(
    page: Page, context: BrowserContext, live_server: LiveServer
) -> None:
    page.goto("/cookies")
    page.get_by_label("Dark").check()
    page.get_by_role("button", name="Save the theme").click()
    expect(page.get_by_role("status")).to_contain_text("could not be saved")
    assert "doorstep_theme" not in _names(context)

    page.get_by_role("region", name=BANNER).get_by_role(
        "button", name="Allow preference cookies"
    ).click()
    expect(page.get_by_role("region", name=BANNER)).to_have_count(0)
    page.get_by_label("Dark").check()
    page.get_by_role("button", name="Save the theme").click()
    expect(page.get_by_role("status")).to_contain_text("saved")
    assert {"doorstep_cookies", "doorstep_theme"} <= _names(context)
    expect(page.locator("html")).to_have_attribute("data-theme", "dark")
    for cookie in context.cookies():
        assert cookie["httpOnly"] and cookie["sameSite"] in ("Lax", "Strict")
        # every persistent cookie is in the inventory, with what it is for and how long
        row = page.locator(f"#cookie-{cookie['name']}")
        expect(row).to_contain_text("Preferences")
        expect(row).to_contain_text("One year")

    page.get_by_role("button", name="Essential cookies only").click()
    assert "doorstep_theme" not in _names(context)
    expect(page.locator("html")).to_have_attribute("data-theme", "light")


@pytest.mark.parametrize("signal", [{"DNT": "1"}, {"Sec-GPC": "1"}], ids=["dnt", "gpc"])
@pytest.mark.clause("CORP-2.1")
@pytest.mark.clause("CORP-2.7")
def test_do_not_track_and_global_privacy_control_are_refusals(
    new_context: Callable[..., BrowserContext], live_server: LiveServer, signal: dict[str, str]
) -> None:
    context = new_context(extra_http_headers=signal)
    page = context.new_page()
    page.goto("/cookies")
    expect(page.get_by_role("region", name=BANNER)).to_have_count(0)
    expect(page.get_by_text("Do Not Track or Global Privacy Control")).to_be_visible()
    page.get_by_label("Dark").check()
    page.get_by_role("button", name="Save the theme").click()
    expect(page.get_by_role("status")).to_contain_text("could not be saved")
    assert _names(context) == set()
    # Even an earlier "allow" does not override the signal.
    context.add_cookies(
        [{"name": "doorstep_cookies", "value": "preferences", "url": live_server.url}]
    )
    page.get_by_label("Dark").check()
    page.get_by_role("button", name="Save the theme").click()
    assert "doorstep_theme" not in _names(context)


@pytest.mark.clause("CORP-2.2")
@pytest.mark.clause("CPE-II.1")
def test_signing_in_sets_only_the_essential_session_cookie_for_the_browser_session(
    page: Page, context: BrowserContext, live_server: LiveServer
) -> None:
    set_cookies: list[str] = []
    page.on(
        "response",
        lambda response: set_cookies.extend(
            header["value"]
            for header in response.headers_array()
            if header["name"].lower() == "set-cookie"
        ),
    )
    sign_in(page, make_subscriber(live_server.runtime), then="/")
    assert _names(context) == {"doorstep_session"}
    (session,) = [value for value in set_cookies if value.startswith("doorstep_session=")]
    assert "expires" not in session.lower() and "max-age" not in session.lower()


@pytest.mark.clause("CORP-2.4")
def test_the_site_works_with_every_cookie_blocked(page: Page, live_server: LiveServer) -> None:
    def without_cookies(route: object) -> None:
        from playwright.sync_api import Error, Route

        assert isinstance(route, Route)
        try:
            response = route.fetch()
            headers = {k: v for k, v in response.headers.items() if k.lower() != "set-cookie"}
            route.fulfill(response=response, headers=headers)
        except Error:  # a request still in flight as the page closes: nothing to strip
            return

    page.route("**/*", without_cookies)
    for path in ("/", "/signin", "/signup", "/cookies", "/policy"):
        answer = page.goto(path)
        assert answer is not None and answer.ok, path
    page.get_by_role("region", name=BANNER).get_by_role(
        "button", name="Essential cookies only"
    ).click()
    expect(page.get_by_role("heading", level=1)).to_be_visible()
    expect(page.locator("html")).to_have_attribute("data-theme", "light")
    page.unroute_all(behavior="ignoreErrors")  # nothing of this route outlives the test
