"""Page sessions: the access token is rotated under the page, and its forms keep working."""

from __future__ import annotations

from datetime import timedelta

from doorstep.core.clock import FakeClock
from doorstep.core.runtime import Runtime
from tests.web.clients import page_client, token_in
from tests.web.people import make_subscriber


def test_an_expired_access_token_is_rotated_and_the_pages_forms_still_work(
    runtime: Runtime, clock: FakeClock
) -> None:
    person = make_subscriber(runtime)
    with page_client(runtime) as client:
        signed = client.post(
            "/signin",
            data={
                "csrf_token": token_in(client.get("/signin").text),
                "identifier": person.email,
                "password": person.password,
            },
            follow_redirects=False,
        )
        assert signed.status_code == 303
        first = client.cookies["doorstep_session"]
        page = client.get("/account")
        stale_form = token_in(page.text)  # rendered before the access token expires
        clock.advance(timedelta(seconds=runtime.settings.account_access_token_ttl_seconds + 1))
        rotated = client.get("/account")
        assert rotated.status_code == 200 and "Sign out" in rotated.text
        assert client.cookies["doorstep_session"] != first
        fresh_form = token_in(rotated.text)
        assert fresh_form != stale_form
        out = client.post("/signout", data={"csrf_token": fresh_form}, follow_redirects=False)
        assert out.status_code == 303 and "doorstep_session" not in client.cookies
        # the old cookie's refresh token was spent by the rotation: it signs nobody in
        client.cookies.set("doorstep_session", first)
        assert client.get("/account", follow_redirects=False).status_code == 303


def test_a_console_error_page_keeps_the_console_navigation(runtime: Runtime) -> None:
    with page_client(runtime) as client:
        page = client.get("/console/no-such-page")
    assert page.status_code == 404
    assert 'href="/console/sign-in"' in page.text and 'href="/signup"' not in page.text
