"""Intake: the signed-in app and the public form that proves control of the e-mail."""

from __future__ import annotations

import io
import json
import uuid
import zipfile
from collections.abc import Iterator
from dataclasses import replace

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from doorstep.asgi import create_app
from doorstep.core.runtime import Runtime
from doorstep.jobs.registry import JobContext
from doorstep.privacy.requests.context import RequestContext
from doorstep.privacy.requests.fulfil import EXPORT_TASK
from doorstep.privacy.requests.models import RequestStatus, SubjectRequest
from doorstep.privacy.requests.services import refuse
from doorstep.privacy.requests.tasks import export
from tests.accounts.conftest import (
    activate,
    bearer,
    last_message,
    sign_in,
    unique_email,
    unique_phone,
)
from tests.requests.conftest import STAFF

ME = "/api/v1/me/requests"
FORM = "/api/v1/requests"


@pytest.fixture
def client(runtime: Runtime) -> Iterator[TestClient]:
    """The app as served: this area's router is mounted through AREA_ROUTERS."""
    app = create_app(runtime)
    with TestClient(app, raise_server_exceptions=False) as test_client:
        yield test_client


@pytest.fixture
def worker_client(runtime: Runtime) -> Iterator[TestClient]:
    """The app with ``requests_inline_ms = 0``: every export and erasure left to a worker."""
    settings = runtime.settings.model_copy(update={"requests_inline_ms": 0})
    app = create_app(replace(runtime, settings=settings))
    with TestClient(app, raise_server_exceptions=False) as test_client:
        yield test_client


def _requests_of(db: Session, subject_id: uuid.UUID) -> list[SubjectRequest]:
    query = sa.select(SubjectRequest).where(SubjectRequest.subject_id == subject_id)
    return list(db.scalars(query.execution_options(populate_existing=True)))


@pytest.mark.clause("CORP-4.2")
def test_a_signed_in_subscriber_files_a_verified_request(client: TestClient, db: Session) -> None:
    email = unique_email()
    account_id = activate(client, db, email=email, phone=unique_phone())
    token = sign_in(client, email).json()["access_token"]
    filed = client.post(ME, json={"kind": "access"}, headers=bearer(token))
    assert filed.status_code == 201, filed.text
    # Access is automatic: carried out before the answer (decision 0046).
    assert (filed.json()["status"], filed.json()["export"]) == ("completed", "ready")
    listed = client.get(ME, headers=bearer(token)).json()
    assert [item["id"] for item in listed] == [filed.json()["id"]]
    (row,) = _requests_of(db, account_id)
    assert row.verification == "session"
    received = last_message(db, "request.received", email=email)
    assert received["reference"] == str(row.id)
    assert received["due"] == row.due_at.date().isoformat()
    assert client.post(ME, json={"kind": "access"}).status_code == 401


@pytest.mark.clause("CPE-V.6.a")
def test_the_public_form_proves_control_of_the_address_with_a_code(
    client: TestClient, db: Session
) -> None:
    email = unique_email()
    account_id = activate(client, db, email=email, phone=unique_phone())
    answer = client.post(FORM, json={"kind": "access", "email": email})
    assert answer.status_code == 202, answer.text
    ticket = answer.json()["ticket"]
    (row,) = _requests_of(db, account_id)
    assert row.status is RequestStatus.VERIFYING
    assert row.paused_since is not None
    code = last_message(db, "account.verify_email", email=email)["code"]
    wrong = "000000" if code != "000000" else "111111"
    refused = client.post(f"{FORM}/{ticket}/confirmation", json={"code": wrong})
    assert refused.status_code == 422
    confirmed = client.post(f"{FORM}/{ticket}/confirmation", json={"code": code})
    assert confirmed.status_code == 200, confirmed.text
    assert confirmed.json()["status"] == "in_progress"
    (row,) = _requests_of(db, account_id)
    assert row.verification == "email_code"
    assert last_message(db, "request.received", email=email)["reference"] == str(row.id)
    assert row.proof_attempts == 1
    again = client.post(f"{FORM}/{ticket}/confirmation", json={"code": code})
    assert again.status_code == 422


def test_the_form_reveals_nothing_about_unknown_addresses(client: TestClient, db: Session) -> None:
    email = unique_email()
    activate(client, db, email=email, phone=unique_phone())
    known = client.post(FORM, json={"kind": "access", "email": email})
    unknown = client.post(FORM, json={"kind": "access", "email": unique_email()})
    assert known.status_code == unknown.status_code == 202
    assert set(known.json()) == set(unknown.json())
    assert known.json()["detail"] == unknown.json()["detail"]
    bad_ticket = client.post(f"{FORM}/{unknown.json()['ticket']}/confirmation", json={"code": "1"})
    bad_code = client.post(f"{FORM}/{known.json()['ticket']}/confirmation", json={"code": "1"})
    assert bad_ticket.status_code == bad_code.status_code == 422
    assert bad_ticket.json()["detail"] == bad_code.json()["detail"]


@pytest.mark.clause("CPE-V.3.b")
def test_the_form_rejects_an_erasure_without_a_ground_for_any_address(
    client: TestClient,
) -> None:
    answer = client.post(FORM, json={"kind": "deletion", "email": unique_email()})
    assert answer.status_code == 422


@pytest.mark.clause("CORP-4.4")
def test_the_subscriber_downloads_their_export_and_nobody_elses(
    worker_client: TestClient, db: Session, runtime: Runtime
) -> None:
    client = worker_client  # the export is prepared by the job
    email, other_email = unique_email(), unique_email()
    activate(client, db, email=email, phone=unique_phone())
    activate(client, db, email=other_email, phone=unique_phone())
    token = sign_in(client, email).json()["access_token"]
    other = sign_in(client, other_email).json()["access_token"]
    filed = client.post(ME, json={"kind": "portability"}, headers=bearer(token)).json()
    assert filed["export"] == "preparing"
    url = f"{ME}/{filed['id']}/export"
    early = client.get(url, headers=bearer(token))
    assert early.status_code == 409 and early.json()["reason"] == "preparing"
    (job,) = db.execute(
        sa.text("SELECT args FROM procrastinate_jobs WHERE task_name = :t"), {"t": EXPORT_TASK}
    ).scalars()
    assert job == {"request_id": filed["id"]}  # ids only in the job
    db.commit()
    assert export(JobContext(runtime, None, 1), request_id=filed["id"]) is True
    assert client.get(url, headers=bearer(other)).status_code == 404
    got = client.get(url, headers=bearer(token))
    assert got.status_code == 200, got.text
    assert got.headers["content-type"] == "application/zip"
    data = json.loads(zipfile.ZipFile(io.BytesIO(got.content)).read("data.json"))
    assert data["tables"]["accounts"][0]["email"] == email
    assert other_email not in json.dumps(data)
    listed = client.get(ME, headers=bearer(token)).json()
    assert listed[0]["status"] == "completed" and listed[0]["export"] == "ready"


@pytest.mark.clause("CPE-IX.4")
def test_a_refused_request_tells_the_subscriber_where_to_complain(
    client: TestClient, db: Session, ctx: RequestContext
) -> None:
    email = unique_email()
    activate(client, db, email=email, phone=unique_phone())
    token = sign_in(client, email).json()["access_token"]
    filed = client.post(
        ME,
        json={"kind": "deletion", "ground": "NO_PERMISSION", "jurisdiction": "gdpr"},
        headers=bearer(token),
    )  # a kind the desk decides on (access is answered at once)
    refuse(db, ctx, uuid.UUID(filed.json()["id"]), code="IMPRACTICAL", reviewer=STAFF)
    (shown,) = client.get(ME, headers=bearer(token)).json()
    assert shown["status"] == "refused"
    assert shown["refusal_code"] == "IMPRACTICAL"
    assert "data protection authority" in shown["complaint_route"]


def test_the_routes_are_in_the_openapi_document(client: TestClient) -> None:
    paths = client.get("/openapi.json").json()["paths"]
    assert {ME, FORM, f"{FORM}/{{ticket}}/confirmation", f"{ME}/{{request_id}}/export"} <= set(
        paths
    )
