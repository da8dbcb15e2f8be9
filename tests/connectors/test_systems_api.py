"""The console API of connected systems and the HTTP systems' signed callback, as served."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from doorstep.asgi import create_app
from doorstep.core.clock import FakeClock
from doorstep.core.runtime import Runtime
from doorstep.privacy.connectors import signing
from doorstep.privacy.requests import services as svc
from doorstep.privacy.requests.context import RequestContext
from doorstep.privacy.requests.fulfil import approve
from doorstep.privacy.requests.systems.models import RequestSystem
from doorstep.staff.services import add_staff
from doorstep.staff.signin import issue_link
from tests.accounts.conftest import bearer
from tests.connectors.conftest import SECRET
from tests.connectors.loopback import Service
from tests.requests.conftest import STAFF, new_account, verified

DESK = "/api/v1/console/requests"


@pytest.fixture
def client(sys_runtime: Runtime, sys_ctx: RequestContext) -> Iterator[TestClient]:
    """The app as served, under the test's systems pack."""
    with TestClient(create_app(sys_runtime), raise_server_exceptions=False) as test_client:
        yield test_client


def _staff(client: TestClient, db: Session, clock: FakeClock, role: str) -> dict[str, str]:
    staff = add_staff(db, role=role, clock=clock)
    made = client.post(
        "/api/v1/console/sessions", json={"token": issue_link(db, staff.id, clock=clock)}
    )
    assert made.status_code == 201, made.text
    return bearer(made.json()["access_token"])


def _deletion(db: Session, ctx: RequestContext) -> tuple[uuid.UUID, uuid.UUID]:
    subject = new_account(db, ctx.require_services().keys, ctx.clock, "api")
    request_id = verified(db, ctx, subject, "deletion", ground="NO_PERMISSION")
    approve(db, ctx, request_id, actor=STAFF)
    return subject, request_id


def _task(db: Session, request_id: uuid.UUID, system: str) -> RequestSystem:
    db.expire_all()
    return db.scalars(
        sa.select(RequestSystem).where(
            RequestSystem.request_id == request_id, RequestSystem.system == system
        )
    ).one()


def _signed(body: bytes, key: str, clock: FakeClock, secret: str = SECRET) -> dict[str, str]:
    return signing.headers(secret, int(clock.now().timestamp()), key, body)


def test_the_desk_sees_each_systems_state_and_records_a_manual_outcome(
    client: TestClient, db: Session, sys_ctx: RequestContext, clock: FakeClock
) -> None:
    _, request_id = _deletion(db, sys_ctx)
    officer = _staff(client, db, clock, "privacy_officer")
    listed = client.get(f"{DESK}/{request_id}/systems", headers=officer)
    assert listed.status_code == 200, listed.text
    states = {item["system"]: item for item in listed.json()}
    assert {k: v["state"] for k, v in states.items()} == {
        "newsletter": "pending",
        "shop": "pending",
        "tickets": "waiting",
        "archive": "not_found",
    }
    assert states["tickets"]["kind"] == "manual" and states["tickets"]["due_at"]
    assert states["tickets"]["look_for"]["email"][0].endswith("@example.org")
    bad = client.post(
        f"{DESK}/{request_id}/systems/tickets/outcome",
        json={"outcome": "done", "evidence": "two words"},
        headers=officer,
    )
    assert bad.status_code == 422 and _task(db, request_id, "tickets").state == "waiting"
    done = client.post(
        f"{DESK}/{request_id}/systems/tickets/outcome",
        json={"outcome": "done", "evidence": "TICKET-9"},
        headers=officer,
    )
    assert done.status_code == 200, done.text
    assert done.json()["state"] == "done" and done.json()["evidence"] == "TICKET-9"
    nothing = client.post(f"{DESK}/{request_id}/systems/rerun", headers=officer)
    assert nothing.status_code == 409


def test_support_staff_may_look_but_not_decide(
    client: TestClient, db: Session, sys_ctx: RequestContext, clock: FakeClock
) -> None:
    _, request_id = _deletion(db, sys_ctx)
    support = _staff(client, db, clock, "support")
    assert client.get(f"{DESK}/{request_id}/systems", headers=support).status_code == 200
    refused = client.post(
        f"{DESK}/{request_id}/systems/tickets/outcome",
        json={"outcome": "done", "evidence": "T-1"},
        headers=support,
    )
    assert refused.status_code == 403
    assert _task(db, request_id, "tickets").state == "waiting"


def test_a_signed_callback_settles_a_waiting_task_and_a_forged_one_changes_nothing(
    client: TestClient, db: Session, sys_ctx: RequestContext, clock: FakeClock, newsletter: Service
) -> None:
    _, request_id = _deletion(db, sys_ctx)
    task = _task(db, request_id, "newsletter")
    task.state = "waiting"  # the service accepted the erasure and answers later
    db.flush()
    key = str(task.id)
    url = "/api/v1/connectors/newsletter/callback"
    body = json.dumps({"status": "done", "rows": 1, "evidence": "NL-1"}).encode()
    forged = client.post(url, content=body, headers=_signed(body, key, clock, secret="guess"))
    assert forged.status_code == 403 and _task(db, request_id, "newsletter").state == "waiting"
    garbage = b'{"status": "done", "data": {"password": ["x"]}}'
    refused = client.post(url, content=garbage, headers=_signed(garbage, key, clock))
    assert refused.status_code == 422 and _task(db, request_id, "newsletter").state == "waiting"
    unknown = client.post(url, content=body, headers=_signed(body, str(uuid.uuid4()), clock))
    assert unknown.status_code == 404
    other = client.post(
        "/api/v1/connectors/shop/callback", content=body, headers=_signed(body, key, clock)
    )
    assert other.status_code == 404  # not an HTTP system
    good = client.post(url, content=body, headers=_signed(body, key, clock))
    assert good.status_code == 200, good.text and good.json() == {"state": "done"}
    settled = _task(db, request_id, "newsletter")
    assert settled.state == "done" and settled.evidence == "NL-1"
    replay = client.post(url, content=body, headers=_signed(body, key, clock))
    assert replay.status_code == 200 and replay.json() == {"state": "done"}
    assert svc.get(db, request_id).closed_at is None  # the shop and the tickets are outstanding
