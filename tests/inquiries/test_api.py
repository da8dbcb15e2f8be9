"""Inquiries over HTTP: the app and the public form ask; the desk lists, reads and answers;
requests show the department that owns them."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import timedelta

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from doorstep.asgi import create_app
from doorstep.core.clock import FakeClock
from doorstep.core.runtime import Runtime
from doorstep.privacy.requests import intake as request_intake
from doorstep.privacy.requests.context import RequestContext
from tests.accounts.conftest import activate, bearer, sign_in, unique_email, unique_phone
from tests.requests.test_console_api import _signed_in

DEPARTMENT = "ZTE Data Protection Compliance Department"


@pytest.fixture
def client(runtime: Runtime) -> Iterator[TestClient]:
    with TestClient(create_app(runtime), raise_server_exceptions=False) as test_client:
        yield test_client


def test_the_app_and_the_form_ask_and_the_desk_reads_and_answers(
    client: TestClient, db: Session, clock: FakeClock
) -> None:
    email = unique_email()
    activate(client, db, email=email, phone=unique_phone())
    subscriber = bearer(sign_in(client, email).json()["access_token"])
    asked = client.post(
        "/api/v1/me/inquiries", headers=subscriber, json={"body": "Which data do you keep?"}
    )
    assert asked.status_code == 201, asked.text
    due = asked.json()["due_at"]
    assert due.startswith((clock.now() + timedelta(days=30)).date().isoformat())
    public = client.post(
        "/api/v1/inquiries",
        json={"email": "someone@example.org", "title": "Cookies", "body": "canary-public"},
    )
    assert public.status_code == 202, public.text
    bad = client.post("/api/v1/inquiries", json={"email": "nope", "body": "x"})
    assert bad.status_code == 422
    assert bad.json()["errors"] == [{"field": "email", "rule": "email_format"}]

    support = bearer(_signed_in(client, db, clock, "support"))
    listed = client.get("/api/v1/console/inquiries", headers=support)
    assert listed.status_code == 200
    rows = {row["id"]: row for row in listed.json()}
    reference = public.json()["reference"]
    assert {asked.json()["reference"], reference} <= set(rows)
    assert rows[reference]["queue"] == "dpo"
    assert rows[reference]["queue_owner"] == DEPARTMENT
    assert "canary-public" not in listed.text and "@" not in listed.text
    assert client.get(f"/api/v1/console/inquiries/{reference}", headers=support).status_code == 403

    officer = bearer(_signed_in(client, db, clock, "privacy_officer"))
    shown = client.get(f"/api/v1/console/inquiries/{reference}", headers=officer)
    assert shown.status_code == 200
    assert (shown.json()["title"], shown.json()["body"]) == ("Cookies", "canary-public")
    answered = client.post(
        f"/api/v1/console/inquiries/{reference}/answer",
        headers=officer,
        json={"answer": "Only the essential one."},
    )
    assert answered.status_code == 200, answered.text
    assert answered.json()["answered_by"].startswith("staff:")
    again = client.post(
        f"/api/v1/console/inquiries/{reference}/answer", headers=officer, json={"answer": "x"}
    )
    assert again.status_code == 409
    missing = client.get(f"/api/v1/console/inquiries/{uuid.uuid4()}", headers=officer)
    assert missing.status_code == 404


@pytest.mark.clause("CPE-IX.1")
def test_every_request_is_assigned_to_the_departments_queue_and_the_desk_sees_it(
    client: TestClient, db: Session, clock: FakeClock, runtime: Runtime
) -> None:
    from doorstep.wiring import build_services

    ctx = RequestContext.of(build_services(runtime))
    email = unique_email()
    account = activate(client, db, email=email, phone=unique_phone())
    signed_in = request_intake.submit_signed_in(db, ctx, subject_id=account, kind="access")
    ticket = request_intake.submit_public(
        db, ctx, email=email, kind="deletion", ground="NO_PERMISSION"
    )
    queues = db.execute(
        sa.text("SELECT id, queue FROM subject_requests WHERE subject_id = :s"), {"s": account}
    ).all()
    assert {(row.id, row.queue) for row in queues} == {(signed_in.id, "dpo"), (ticket, "dpo")}

    officer = bearer(_signed_in(client, db, clock, "privacy_officer"))
    shown = client.get(f"/api/v1/console/requests/{ticket}", headers=officer).json()
    assert (shown["queue"], shown["queue_owner"]) == ("dpo", DEPARTMENT)
    queue = client.get("/api/v1/console/requests", headers=officer).json()
    assert {row["queue_owner"] for row in queue} == {DEPARTMENT}
