"""TestClient stand-ins for a browser: the page tests that need no Chromium use these.

A browser says it accepts HTML, so errors come back as pages (an API client gets
problem documents on the same paths); :func:`page_client` sends that header.
:func:`token_of` reads the CSRF token of a page's forms; :func:`sign_in_as` signs
in through the form, as a browser does.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from fastapi.testclient import TestClient

from doorstep.asgi import create_app
from doorstep.core.runtime import Runtime
from tests.web.people import Person

BROWSER_HEADERS = {"accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"}
TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')


@contextmanager
def page_client(runtime: Runtime, **options: Any) -> Iterator[TestClient]:
    """The app on ``runtime`` behind a client that asks for pages, as a browser does."""
    options.setdefault("base_url", "http://127.0.0.1")
    with TestClient(create_app(runtime), headers=BROWSER_HEADERS, **options) as client:
        yield client


def token_in(html: str) -> str:
    """The CSRF token of the first form in ``html``."""
    found = TOKEN.search(html)
    assert found is not None, "the page has no form token"
    return found.group(1)


def token_of(client: TestClient, path: str) -> str:
    """The CSRF token of the forms on ``path``."""
    return token_in(client.get(path).text)


def sign_in_as(client: TestClient, person: Person, *, then: str = "/devices") -> None:
    """Sign ``client`` in as ``person`` through the form; it is sent on to ``then``."""
    answer = client.post(
        "/signin",
        data={
            "identifier": person.email,
            "password": person.password,
            "next": then,
            "csrf_token": token_of(client, "/signin"),
        },
        follow_redirects=False,
    )
    assert answer.status_code == 303, answer.text
    assert answer.headers["location"] == then
