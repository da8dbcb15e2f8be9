"""What the fleet API's tests share: the app on the test's transaction, staff sessions, counts.

The app runs with a TestClient on the test's rolled-back transaction, without background
work of its own (:data:`QUIET`: nothing claims the operations the API queues, nothing
renews leases on the test's connection between requests).  Staff sign in as an API
client does: a one-time link exchanged for a console session token (``POST
/api/v1/console/sessions``), sent as a bearer token.
Import the fixtures into a test module (``from tests.devices.fleet_api_support import
client, settings``).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from doorstep.asgi import create_app
from doorstep.core.clock import FakeClock
from doorstep.core.runtime import Runtime
from doorstep.core.settings import Settings, load_settings
from doorstep.staff.services import add_staff
from doorstep.staff.signin import issue_link

FLEET = "/api/v1/console/fleet"
PROBLEM = "application/problem+json"


#: Background work of ``serve`` the fleet API does not need, off: it would run on the
#: test's one connection beside the requests (the fleet executor; the WebSocket relay's
#: lease renewal, decision 0047, where this version has it).
QUIET = {"fleet_executor": False, "device_relay": False}


@pytest.fixture
def settings(tmp_path: Path, database_url: str) -> Settings:
    """Test settings without background work on the test's connection (:data:`QUIET`)."""
    quiet = {name: value for name, value in QUIET.items() if name in Settings.model_fields}
    return load_settings(env="test", database_url=database_url, data_dir=tmp_path / "data", **quiet)


@pytest.fixture
def client(runtime: Runtime) -> Iterator[TestClient]:
    """The app as served, on the test's transaction."""
    with TestClient(create_app(runtime)) as test_client:
        yield test_client


def staff_token(client: TestClient, db: Session, clock: FakeClock, role: str) -> str:
    """A console session token of a new staff member of ``role``."""
    staff = add_staff(db, role=role, clock=clock)
    made = client.post(
        "/api/v1/console/sessions", json={"token": issue_link(db, staff.id, clock=clock)}
    )
    assert made.status_code == 201, made.text
    return str(made.json()["access_token"])


def signed_in(client: TestClient, db: Session, clock: FakeClock, role: str = "support") -> None:
    """Send every later request of ``client`` with a console session of ``role``."""
    client.headers["Authorization"] = f"Bearer {staff_token(client, db, clock, role)}"


def count(db: Session, table: str, where: str = "TRUE", **params: Any) -> int:
    """Rows of ``table`` (matching ``where``)."""
    query = sa.text(f"SELECT count(*) FROM {table} WHERE {where}")
    return int(db.execute(query, params).scalar_one())


def audited(db: Session, action: str, outcome: str = "ok") -> list[dict[str, Any]]:
    """The audit records of ``action`` with ``outcome``: actor, purpose and details."""
    rows = db.execute(
        sa.text(
            "SELECT actor, purpose, details FROM audit_events "
            "WHERE action = :action AND outcome = :outcome ORDER BY id"
        ),
        {"action": action, "outcome": outcome},
    )
    return [{"actor": r.actor, "purpose": r.purpose, "details": r.details} for r in rows]


def problem(response: httpx.Response, status: int, code: str) -> dict[str, Any]:
    """The problem document of ``response``, checked to be of ``status`` and type ``code``."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith(PROBLEM), response.headers
    body: dict[str, Any] = response.json()
    assert body["type"] == f"https://doorstep.dev/problems/{code}", body
    return body


def rules(body: dict[str, Any]) -> set[tuple[str, str]]:
    """The (field, rule) pairs of a 422 problem."""
    return {(error["field"], error["rule"]) for error in body.get("errors") or ()}
