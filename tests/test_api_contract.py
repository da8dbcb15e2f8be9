"""Real responses of every API operation match the published description (/openapi.json).

Schemathesis generates a few requests per operation from the description and runs
them against the in-process app (signed in as a subscriber, or as a privacy officer
on the console): no 5xx, every status code described, the described content type,
and bodies valid against their schemas (problem documents included).  Every link a
response returns is then followed.  Few examples, a fixed seed, no shrinking: the
run is short and the same every time.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import schemathesis
from fastapi import FastAPI
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.python.asgi import shutdown_lifespans
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from sqlalchemy.orm import Session
from starlette.routing import Match

from doorstep.asgi import create_app
from doorstep.core.clock import FakeClock
from doorstep.core.runtime import Runtime
from doorstep.staff.services import add_staff
from doorstep.staff.signin import issue_link
from tests.accounts.conftest import PASSWORD, activate, bearer, sign_in, unique_email, unique_phone

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]
#: Operations that end the session the others use: run last.
ENDS_SESSIONS = (
    "DELETE /api/v1/accounts/sessions/current",
    "DELETE /api/v1/console/sessions/current",
)
#: A local path in a response body: a link to follow.
_LINK = re.compile(r"^/[A-Za-z0-9._~!$&'()*+,;=:@%/-]*$")


def local_links(value: Any) -> Iterator[str]:
    """Every string in a JSON value that is a path on this server."""
    if isinstance(value, dict):
        for item in value.values():
            yield from local_links(item)
    elif isinstance(value, list):
        for item in value:
            yield from local_links(item)
    elif isinstance(value, str) and _LINK.match(value):
        yield value


def is_a_route(app: FastAPI, path: str) -> bool:
    """Whether some route of ``app`` serves ``path`` (with any method)."""
    scope = {"type": "http", "path": path, "method": "GET", "root_path": ""}
    return any(route.matches(scope)[0] is not Match.NONE for route in app.router.routes)


@pytest.fixture
def app(runtime: Runtime) -> Iterator[FastAPI]:
    """The app as served; schemathesis runs its lifespan, stopped at the end."""
    yield create_app(runtime)
    shutdown_lifespans()


def _client(app: FastAPI) -> TestClient:
    """A client that does not run the lifespan (schemathesis runs it, once, in its own loop)."""
    return TestClient(app, raise_server_exceptions=False)


def _tokens(app: FastAPI, db: Session, clock: FakeClock) -> tuple[str, str]:
    client = _client(app)
    email = unique_email()
    activate(client, db, email=email, phone=unique_phone())
    subscriber = sign_in(client, email).json()["access_token"]
    staff = add_staff(db, role="privacy_officer", clock=clock)
    made = client.post(
        "/api/v1/console/sessions", json={"token": issue_link(db, staff.id, clock=clock)}
    )
    return str(subscriber), str(made.json()["access_token"])


def test_every_operation_answers_as_described(app: FastAPI, db: Session, clock: FakeClock) -> None:
    subscriber, staff = _tokens(app, db, clock)
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    operations = [result.ok() for result in schema.get_all_operations()]
    operations.sort(key=lambda operation: operation.label in ENDS_SESSIONS)
    assert len(operations) > 30
    links: set[str] = set()
    failures: list[str] = []

    def run(operation: Any) -> Callable[[], None]:
        token = staff if operation.path.startswith("/api/v1/console/") else subscriber

        @settings(
            max_examples=3,
            derandomize=True,
            database=None,
            deadline=None,
            phases=[Phase.explicit, Phase.generate],
            suppress_health_check=list(HealthCheck),
        )
        @given(case=operation.as_strategy())
        def check(case: Any) -> None:
            response = case.call_and_validate(headers=bearer(token), checks=CHECKS)
            if response.content and "json" in response.headers.get("content-type", [""])[0]:
                links.update(local_links(response.json()))

        return check

    for operation in operations:
        try:
            run(operation)()
        except Exception as exc:  # every operation is checked; all failures are reported
            inner = getattr(exc, "exceptions", ())
            failures.append(f"{operation.label}: {exc} {' '.join(map(str, inner))}")
    assert not failures, "\n\n".join(failures)
    assert links, "no response carried a link: the loop below would prove nothing"

    client = _client(app)
    for link in sorted(links):
        assert is_a_route(app, link), link
        followed = client.get(link, headers=bearer(subscriber))
        assert followed.status_code != 404, (link, followed.status_code)


def test_the_correction_link_leads_to_filing_a_correction(app: FastAPI, db: Session) -> None:
    client = _client(app)
    email = unique_email()
    activate(client, db, email=email, phone=unique_phone(), password=PASSWORD)
    token = sign_in(client, email).json()["access_token"]
    refused = client.patch("/api/v1/accounts/me", headers=bearer(token), json={"email": "x"})
    assert refused.status_code == 403
    link = refused.json()["correction_request"]
    assert is_a_route(app, link)
    filed = client.post(
        link,
        headers=bearer(token),
        json={"kind": "correction", "element": "accounts.email", "value": unique_email()},
    )
    assert filed.status_code == 201, filed.text
    assert filed.json()["kind"] == "correction"
