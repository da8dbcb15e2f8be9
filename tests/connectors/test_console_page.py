"""The console's request page shows each connected system and takes a manual outcome."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from doorstep.asgi import create_app
from doorstep.core.clock import FakeClock
from doorstep.core.runtime import Runtime
from doorstep.privacy.requests import services as svc
from doorstep.privacy.requests.context import RequestContext
from doorstep.privacy.requests.fulfil import approve
from doorstep.privacy.requests.systems.models import RequestSystem
from doorstep.staff.services import add_staff
from doorstep.staff.signin import issue_link
from tests.requests.conftest import STAFF, new_account, verified

ORIGIN = {"Origin": "http://testserver"}


@pytest.fixture
def client(sys_runtime: Runtime, sys_ctx: RequestContext) -> Iterator[TestClient]:
    """The app as served, under the test's systems pack."""
    with TestClient(create_app(sys_runtime), raise_server_exceptions=False) as test_client:
        yield test_client


def _officer(client: TestClient, db: Session, clock: FakeClock, role: str) -> None:
    staff = add_staff(db, role=role, clock=clock)
    made = client.post(
        "/api/v1/console/sessions", json={"token": issue_link(db, staff.id, clock=clock)}
    )
    assert made.status_code == 201, made.text
    client.cookies.set("doorstep_console", made.json()["access_token"])


def _csrf(html: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert found is not None
    return found.group(1)


def _state(db: Session, request_id: uuid.UUID, system: str) -> str:
    db.expire_all()
    return db.scalars(
        sa.select(RequestSystem.state).where(
            RequestSystem.request_id == request_id, RequestSystem.system == system
        )
    ).one()


def test_the_request_page_shows_every_system_and_records_the_desks_outcome(
    client: TestClient, db: Session, sys_ctx: RequestContext, clock: FakeClock
) -> None:
    subject = new_account(db, sys_ctx.require_services().keys, clock, "page")
    email = db.scalar(sa.text("SELECT email FROM accounts WHERE id = :s"), {"s": subject})
    request_id = verified(db, sys_ctx, subject, "deletion", ground="NO_PERMISSION")
    approve(db, sys_ctx, request_id, actor=STAFF)
    _officer(client, db, clock, "privacy_officer")
    page = client.get(f"/console/requests/{request_id}")
    assert page.status_code == 200, page.text
    html = page.text
    assert "Connected systems" in html
    for system in ("shop", "newsletter", "tickets", "archive"):
        assert f"<code>{system}</code>" in html
    assert "Search After-sales tickets by hand" in html and email in html
    action = f"/console/requests/{request_id}/systems/tickets/outcome"
    assert f'action="{action}"' in html
    bad = client.post(
        action,
        data={"csrf_token": _csrf(html), "outcome": "done", "evidence": "not a reference"},
        headers=ORIGIN,
        follow_redirects=False,
    )
    assert bad.status_code == 422 and _state(db, request_id, "tickets") == "waiting"
    done = client.post(
        action,
        data={"csrf_token": _csrf(html), "outcome": "done", "evidence": "TICKET-5"},
        headers=ORIGIN,
        follow_redirects=False,
    )
    assert done.status_code == 303, done.text
    assert _state(db, request_id, "tickets") == "done"
    assert "TICKET-5" in client.get(f"/console/requests/{request_id}").text
    assert svc.get(db, request_id).closed_at is None  # shop and newsletter still to answer


def test_support_staff_see_the_systems_but_no_form(
    client: TestClient, db: Session, sys_ctx: RequestContext, clock: FakeClock
) -> None:
    subject = new_account(db, sys_ctx.require_services().keys, clock, "page2")
    request_id = verified(db, sys_ctx, subject, "deletion", ground="NO_PERMISSION")
    approve(db, sys_ctx, request_id, actor=STAFF)
    _officer(client, db, clock, "support")
    html = client.get(f"/console/requests/{request_id}").text
    assert "Connected systems" in html and "Record the outcome" not in html
