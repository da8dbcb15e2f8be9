"""The client address behind the per-address rate limits: forwarded headers only from
configured proxies (``trusted_proxies``), derived in one place (``core.proxies``)."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import httpx
import pytest
import sqlalchemy as sa
from fastapi import FastAPI, Request
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from doorstep.accounts.context import AccountContext
from doorstep.accounts.signin.ratelimit import bucket
from doorstep.asgi import create_app
from doorstep.core.proxies import client_address
from doorstep.core.runtime import Runtime
from doorstep.web.cookies import secure
from tests.accounts.conftest import PREFIX, unique_email, with_settings
from tests.accounts.served import serve_command

PROXY = ("10.1.2.3", 40000)
STRANGER = ("198.51.100.7", 40000)
WRONG = {"password": "pw-pw-pw-pw-pw"}


def _probe(app: FastAPI) -> FastAPI:
    """``app`` plus ``GET /probe``: the address, scheme and cookie rule a handler sees."""

    def probe(request: Request) -> dict[str, object]:
        return {
            "client": client_address(request),
            "scheme": request.url.scheme,
            "secure": secure(request),
        }

    app.add_api_route("/probe", probe)
    return app


@pytest.fixture
def behind_proxy(runtime: Runtime) -> Runtime:
    """The test runtime with 10.0.0.0/8 as the proxies and 3 attempts per address."""
    return with_settings(runtime, trusted_proxies=("10.0.0.0/8",), account_address_max_attempts=3)


@contextlib.contextmanager
def _client(runtime: Runtime, peer: tuple[str, int]) -> Iterator[TestClient]:
    app = _probe(create_app(runtime))
    with TestClient(app, client=peer, raise_server_exceptions=False) as test_client:
        yield test_client


def _sign_in(client: httpx.Client | TestClient, forwarded_for: str) -> int:
    response = client.post(
        f"{PREFIX}/sessions",
        json={"identifier": unique_email(), **WRONG},
        headers={"X-Forwarded-For": forwarded_for},
    )
    return response.status_code


def test_rotating_forwarded_for_through_doorstep_serve_is_still_limited(
    committed: Runtime,
) -> None:
    """Uvicorn trusts loopback peers' headers by default; ``doorstep serve`` must not."""
    limited = with_settings(committed, account_address_max_attempts=3)
    with serve_command(limited) as url, httpx.Client(base_url=url, timeout=30) as client:
        statuses = [_sign_in(client, f"203.0.113.{n}") for n in range(1, 6)]
    assert statuses == [401, 401, 401, 429, 429]


def test_forwarded_headers_from_an_unlisted_peer_are_ignored(behind_proxy: Runtime) -> None:
    with _client(behind_proxy, STRANGER) as client:
        seen = client.get(
            "/probe", headers={"X-Forwarded-For": "203.0.113.9", "X-Forwarded-Proto": "https"}
        ).json()
        assert seen == {"client": STRANGER[0], "scheme": "http", "secure": False}
        statuses = [_sign_in(client, f"203.0.113.{n}") for n in range(1, 5)]
    assert statuses == [401, 401, 401, 429]


def test_nothing_is_trusted_by_default_not_even_loopback(runtime: Runtime) -> None:
    assert runtime.settings.trusted_proxies == ()
    with _client(runtime, ("127.0.0.1", 40000)) as client:
        seen = client.get(
            "/probe", headers={"X-Forwarded-For": "203.0.113.9", "X-Forwarded-Proto": "https"}
        ).json()
    assert seen == {"client": "127.0.0.1", "scheme": "http", "secure": False}


def test_a_listed_proxy_forwards_the_client_address_and_scheme(
    behind_proxy: Runtime, db: Session
) -> None:
    with _client(behind_proxy, PROXY) as client:
        # The right-most entry that is not a listed proxy is the client.
        seen = client.get(
            "/probe",
            headers={
                "X-Forwarded-For": "192.0.2.1, 203.0.113.9, 10.9.9.9",
                "X-Forwarded-Proto": "https",
            },
        ).json()
        assert seen == {"client": "203.0.113.9", "scheme": "https", "secure": True}
        # Every client behind the proxy has its own count ...
        assert [_sign_in(client, f"203.0.113.{n}") for n in range(10, 16)] == [401] * 6
        # ... and one client is limited however the proxy is reached.
        statuses = [_sign_in(client, "192.0.2.50") for _ in range(4)]
    assert statuses == [401, 401, 401, 429]
    ctx = AccountContext.for_runtime(behind_proxy)
    rows = db.execute(sa.text("SELECT bucket FROM account_rate_limits"))
    stored = {bytes(row.bucket) for row in rows}
    assert bucket(ctx, "addr", "192.0.2.50") in stored
    assert bucket(ctx, "addr", PROXY[0]) not in stored


def test_a_proxy_list_that_is_not_addresses_is_refused() -> None:
    from doorstep.core.errors import ConfigurationError
    from doorstep.core.settings import load_settings

    with pytest.raises(ConfigurationError, match="trusted_proxies"):
        load_settings(trusted_proxies="proxy.internal")
    parsed = load_settings(trusted_proxies="10.0.0.0/8, 192.0.2.7").trusted_proxies
    assert [str(network) for network in parsed] == ["10.0.0.0/8", "192.0.2.7/32"]
