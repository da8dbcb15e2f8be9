"""The cookie banner sends the visitor back to the exact page they were on, query included.

A staff member opening a one-time sign-in link (``/console/sign-in?token=…``)
who answered the banner first used to land on ``/console/sign-in`` without the
token, and the link was lost.  The banner's form now carries the page's own
local URL; ``safe_next`` keeps it to this site's paths (no open redirect).
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from doorstep.core.clock import FakeClock
from doorstep.core.runtime import Runtime
from doorstep.staff.services import add_staff
from doorstep.staff.signin import issue_link
from doorstep.web.session import safe_next
from tests.web.clients import page_client, token_in

_BANNER_NEXT = re.compile(
    r'<form method="post" action="/cookies" class="inline">.*?name="next" value="([^"]*)"',
    re.DOTALL,
)


@pytest.fixture
def client(runtime: Runtime) -> Iterator[TestClient]:
    """The app on the test's transaction; redirects are not followed."""
    with page_client(runtime, follow_redirects=False) as test_client:
        yield test_client


def _banner_next(page: str) -> str:
    found = _BANNER_NEXT.search(page)
    assert found is not None, "the page shows no cookie banner"
    return html.unescape(found.group(1))


@pytest.mark.parametrize("choice", ["preferences", "essential"])
def test_the_banner_keeps_the_console_sign_in_link(
    client: TestClient, runtime: Runtime, clock: FakeClock, choice: str
) -> None:
    with runtime.sessions.begin() as db:
        staff = add_staff(db, role="privacy_officer", clock=clock)
        link = issue_link(db, staff.id, clock=clock)
    page = client.get("/console/sign-in", params={"token": link, "next": "/console/audit"})
    assert page.status_code == 200
    here = _banner_next(page.text)
    assert here == page.request.url.raw_path.decode()
    assert f"token={link}" in here
    answered = client.post(
        "/cookies", data={"csrf_token": token_in(page.text), "choice": choice, "next": here}
    )
    assert answered.status_code == 303
    assert answered.headers["location"] == here
    back = client.get(answered.headers["location"])
    assert "Sign in to the console" in back.text  # the link's button is still there


def test_the_banner_keeps_an_ordinary_query_too(client: TestClient) -> None:
    page = client.get("/signin?next=%2Fprivacy%2Fdata")
    assert _banner_next(page.text) == "/signin?next=%2Fprivacy%2Fdata"


@pytest.mark.parametrize(
    "target",
    [
        "//evil.example/",
        "https://evil.example/",
        "/\\evil.example",
        "/\t/evil.example",
        "/\n/evil.example",
        " //evil.example",
        "evil.example",
        "javascript:alert(1)",
        "",
    ],
)
def test_the_banner_never_sends_a_visitor_to_another_site(client: TestClient, target: str) -> None:
    page = client.get("/cookies")
    answered = client.post(
        "/cookies",
        data={"csrf_token": token_in(page.text), "choice": "essential", "next": target},
    )
    assert answered.status_code == 303
    assert answered.headers["location"] == "/cookies"


@pytest.mark.parametrize(
    ("target", "expected"),
    [
        ("/console/sign-in?token=abc&next=%2Fconsole%2Faudit", None),
        ("/privacy?done=x#top", None),
        ("/\u2028/evil.example", "/"),
        ("/a\x00b", "/"),
        ("/ok path", "/"),
    ],
)
def test_safe_next_keeps_local_urls_and_nothing_else(target: str, expected: str | None) -> None:
    assert safe_next(target, "/") == (target if expected is None else expected)
