"""TLS in transit for browsers (CPE-IV.1.a): behind a listed TLS-terminating proxy every
cookie Doorstep sets is ``Secure``, so a browser never sends it over plain HTTP again.

The proxy is believed only from ``DOORSTEP_TRUSTED_PROXIES``; the same header from any
other peer changes nothing (a client cannot claim TLS it does not have).
"""

from __future__ import annotations

from dataclasses import replace

import pytest
from fastapi.testclient import TestClient

from doorstep.core.runtime import Runtime
from tests.web.clients import page_client, token_of
from tests.web.people import make_subscriber

PROXY = ("10.1.2.3", 40000)
STRANGER = ("198.51.100.7", 40000)
TLS = {"X-Forwarded-Proto": "https", "X-Forwarded-For": "203.0.113.9"}


def _set_cookies(client: TestClient, runtime: Runtime) -> dict[str, str]:
    """Sign in and answer the cookie banner; ``{cookie name: its Set-Cookie line}``."""
    person = make_subscriber(runtime)
    signed_in = client.post(
        "/signin",
        data={
            "identifier": person.email,
            "password": person.password,
            "next": "/devices",
            "csrf_token": token_of(client, "/signin"),
        },
    )
    assert signed_in.status_code == 303, signed_in.text
    chosen = client.post(
        "/cookies",
        data={"csrf_token": token_of(client, "/cookies"), "choice": "preferences", "next": "/"},
    )
    assert chosen.status_code == 303, chosen.text
    lines = signed_in.headers.get_list("set-cookie") + chosen.headers.get_list("set-cookie")
    return {line.split("=", 1)[0]: line for line in lines}


@pytest.mark.clause("CPE-IV.1.a")
def test_every_cookie_is_secure_behind_a_listed_tls_proxy(runtime: Runtime) -> None:
    behind = replace(
        runtime, settings=runtime.settings.model_copy(update={"trusted_proxies": ("10.0.0.0/8",)})
    )
    with page_client(behind, client=PROXY, follow_redirects=False) as client:
        client.headers.update(TLS)
        cookies = _set_cookies(client, behind)
    assert {"doorstep_session", "doorstep_cookies"} <= set(cookies)
    for name, line in cookies.items():
        attributes = {part.strip().lower() for part in line.split(";")[1:]}
        assert "secure" in attributes, name
        assert "httponly" in attributes, name
    # The same claim from a peer that is not a listed proxy is not believed.
    with page_client(behind, client=STRANGER, follow_redirects=False) as client:
        client.headers.update(TLS)
        plain = _set_cookies(client, behind)
    assert {"doorstep_session", "doorstep_cookies"} <= set(plain)
    for name, line in plain.items():
        assert "secure" not in {part.strip().lower() for part in line.split(";")[1:]}, name
