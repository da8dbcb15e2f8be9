"""The ASGI app: health, readiness, OpenAPI, request ids and RFC 9457 problems."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from pydantic import BaseModel, EmailStr
from starlette.types import Message

from doorstep.asgi import create_app
from doorstep.core.bodies import MAX_BODY_BYTES
from doorstep.core.database import create_db_engine, make_session_factory
from doorstep.core.errors import ConflictError, RateLimitedError
from doorstep.core.migrations import head_revision
from doorstep.core.runtime import Runtime
from tests.conftest import _worker_id, fresh_database


class _Probe(BaseModel):
    email: EmailStr
    count: int


@pytest.fixture
def client(runtime: Runtime) -> Iterator[TestClient]:
    app = create_app(runtime)

    @app.post("/_probe")
    def probe(body: _Probe) -> dict[str, int]:
        return {"count": body.count}

    @app.get("/_conflict")
    def conflict() -> None:
        raise ConflictError("the device is still bound", device_id="d-1")

    @app.get("/_limited")
    def limited() -> None:
        raise RateLimitedError(retry_after=30)

    @app.get("/_crash")
    def crash() -> None:
        raise RuntimeError("boom")

    with TestClient(app, raise_server_exceptions=False) as test_client:
        yield test_client


def _is_problem(response: object, status: int) -> dict[str, object]:
    from httpx2 import Response

    assert isinstance(response, Response)
    assert response.status_code == status
    assert response.headers["content-type"] == "application/problem+json"
    body = response.json()
    assert body["status"] == status
    assert str(body["type"]).startswith("https://doorstep.dev/problems/")
    assert body["title"]
    assert str(body["instance"]) == f"urn:doorstep:request:{response.headers['x-request-id']}"
    return dict(body)


def test_healthz(client: TestClient) -> None:
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json()["status"] == "ok"


def test_readyz_when_migrated(client: TestClient) -> None:
    response = client.get("/readyz")
    assert response.status_code == 200
    assert response.json() == {"status": "ready", "migration": head_revision()}


def test_readyz_refuses_an_unmigrated_database(runtime: Runtime, server_url: str) -> None:
    url = fresh_database(server_url, f"doorstep_test_{_worker_id()}_empty")
    engine = create_db_engine(url, pool_size=1)
    try:
        bare = Runtime(runtime.settings, url, engine, make_session_factory(engine), runtime.clock)
        with TestClient(create_app(bare)) as test_client:
            body = _is_problem(test_client.get("/readyz"), 503)
        assert body["current"] is None
        assert body["head"] == head_revision()
    finally:
        engine.dispose()


def test_readyz_when_the_database_is_gone(runtime: Runtime) -> None:
    engine = create_db_engine("postgresql://nobody@127.0.0.1:1/none", pool_size=1)
    gone = Runtime(runtime.settings, "", engine, make_session_factory(engine), runtime.clock)
    with TestClient(create_app(gone)) as test_client:
        body = _is_problem(test_client.get("/readyz"), 503)
    assert body["detail"] == "the database does not answer"


def test_openapi_is_served(client: TestClient) -> None:
    document = client.get("/openapi.json").json()
    assert document["info"]["title"] == "Doorstep"
    assert "/healthz" in document["paths"]


def test_unknown_path_is_a_problem(client: TestClient) -> None:
    body = _is_problem(client.get("/no/such/thing"), 404)
    assert "no/such" not in str(body)


def test_wrong_method_is_a_problem(client: TestClient) -> None:
    _is_problem(client.delete("/healthz"), 405)


def test_invalid_input_names_field_and_rule_not_value(client: TestClient) -> None:
    response = client.post("/_probe", json={"email": "not-an-address-77", "count": "many-99"})
    body = _is_problem(response, 422)
    assert {(e["field"], e["rule"]) for e in body["errors"]} == {  # type: ignore[attr-defined]
        ("email", "value_error"),
        ("count", "int_parsing"),
    }
    assert "not-an-address-77" not in response.text
    assert "many-99" not in response.text


def test_malformed_json_is_a_400_that_says_where(client: TestClient) -> None:
    response = client.post(
        "/_probe", content=b'{"email": 1,\n nope', headers={"content-type": "application/json"}
    )
    body = _is_problem(response, 400)
    assert body["type"] == "https://doorstep.dev/problems/malformed-json"
    assert "line 2, column 2" in str(body["detail"])
    assert body["position"] == 14
    assert "errors" not in body
    assert "nope" not in response.text


def test_deeply_nested_json_says_so(client: TestClient) -> None:
    deep = b"[" * 100_000 + b"]" * 100_000
    response = client.post("/_probe", content=deep, headers={"content-type": "application/json"})
    body = _is_problem(response, 400)
    assert body["detail"] == "The JSON body is nested too deeply to be read."


def test_a_body_that_is_not_json_is_a_415(client: TestClient) -> None:
    for headers in ({"content-type": "text/plain"}, {}):
        response = client.post("/api/v1/accounts/signup", content=b"hello", headers=headers)
        body = _is_problem(response, 415)
        assert body["title"] == "Unsupported media type"
    # +json types are JSON.
    typed = client.post(
        "/api/v1/accounts/verification",
        content=b"{}",
        headers={"content-type": "application/merge-patch+json"},
    )
    assert typed.status_code == 422


def test_a_body_over_the_limit_is_a_413_before_the_handler_runs(client: TestClient) -> None:
    calls: list[object] = []
    app = client.app
    assert isinstance(app, FastAPI)

    @app.post("/_counted")
    def counted(body: dict[str, object]) -> None:
        calls.append(body)

    big = b'{"pad": "' + b"x" * MAX_BODY_BYTES + b'"}'
    response = client.post("/_counted", content=big, headers={"content-type": "application/json"})
    body = _is_problem(response, 413)
    assert body["max_bytes"] == MAX_BODY_BYTES
    assert not calls


def test_a_streamed_body_is_refused_once_it_passes_the_limit(runtime: Runtime) -> None:
    """Chunked, no Content-Length: the bytes are counted and reading stops at the limit."""
    app = create_app(runtime)
    chunk = b"x" * 65_536
    pulled = 0
    sent: list[Message] = []

    async def receive() -> Message:
        nonlocal pulled
        pulled += 1
        return {"type": "http.request", "body": chunk, "more_body": pulled < 200}

    async def send(message: Message) -> None:
        sent.append(message)

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": "/api/v1/accounts/signup",
        "raw_path": b"/api/v1/accounts/signup",
        "query_string": b"",
        "root_path": "",
        "headers": [
            (b"host", b"testserver"),
            (b"content-type", b"application/json"),
            (b"transfer-encoding", b"chunked"),
        ],
        "client": ("127.0.0.1", 5000),
        "server": ("testserver", 80),
        "state": {},
    }
    asyncio.run(app(scope, receive, send))
    start = next(message for message in sent if message["type"] == "http.response.start")
    assert start["status"] == 413
    assert (b"content-type", b"application/problem+json") in start["headers"]
    assert pulled == MAX_BODY_BYTES // len(chunk) + 1  # not one chunk more than needed


def test_a_page_asks_any_client_to_sign_in_with_a_redirect(client: TestClient) -> None:
    for accept in ({}, {"accept": "application/json"}, {"accept": "text/html"}):
        response = client.get("/devices", headers=accept, follow_redirects=False)
        assert response.status_code == 303
        assert response.headers["location"].startswith("/signin")
        assert "problem" not in response.headers.get("content-type", "")
    htmx = client.get("/devices", headers={"hx-request": "true"}, follow_redirects=False)
    assert htmx.status_code == 204
    assert htmx.headers["hx-redirect"].startswith("/signin")


def test_domain_errors_carry_their_fields(client: TestClient) -> None:
    body = _is_problem(client.get("/_conflict"), 409)
    assert body["detail"] == "the device is still bound"
    assert body["device_id"] == "d-1"


def test_rate_limits_say_when_to_retry(client: TestClient) -> None:
    response = client.get("/_limited")
    _is_problem(response, 429)
    assert response.headers["retry-after"] == "30"


def test_crashes_reveal_nothing(client: TestClient) -> None:
    response = client.get("/_crash")
    body = _is_problem(response, 500)
    assert "boom" not in response.text
    assert body["title"] == "Internal error"


def test_request_ids_are_made_or_accepted_when_safe(client: TestClient) -> None:
    made = client.get("/healthz").headers["x-request-id"]
    assert len(made) == 32
    kept = client.get("/healthz", headers={"x-request-id": "abc-123-def-456"})
    assert kept.headers["x-request-id"] == "abc-123-def-456"
    unsafe = client.get("/healthz", headers={"x-request-id": "evil id with spaces"})
    assert unsafe.headers["x-request-id"] != "evil id with spaces"


def test_landing_page_links_the_api_docs(client: TestClient) -> None:
    response = client.get("/")
    assert response.status_code == 200
    assert 'href="/docs"' in response.text
