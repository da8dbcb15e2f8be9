"""The privacy desk's API: staff sign in with a one-time link, see the queue, decide."""

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
from doorstep.privacy.requests import services as svc
from doorstep.privacy.requests.context import RequestContext
from doorstep.privacy.requests.models import RequestStatus
from doorstep.staff.services import add_staff, deactivate_staff
from doorstep.staff.signin import issue_link
from tests.accounts.conftest import activate, bearer, last_message, unique_email, unique_phone
from tests.requests.conftest import STAFF

DESK = "/api/v1/console/requests"
SESSIONS = "/api/v1/console/sessions"


@pytest.fixture
def client(runtime: Runtime) -> Iterator[TestClient]:
    """The app as served."""
    with TestClient(create_app(runtime), raise_server_exceptions=False) as test_client:
        yield test_client


def _signed_in(client: TestClient, db: Session, clock: FakeClock, role: str) -> str:
    staff = add_staff(db, role=role, clock=clock)
    link = issue_link(db, staff.id, clock=clock)
    made = client.post(SESSIONS, json={"token": link})
    assert made.status_code == 201, made.text
    assert made.json()["role"] == role
    return str(made.json()["access_token"])


def _request(
    db: Session,
    ctx: RequestContext,
    subject: uuid.UUID,
    kind: str = "restriction",
    jurisdiction: str = "gdpr",
) -> uuid.UUID:
    row = svc.open_request(
        db,
        ctx,
        subject_id=subject,
        kind=kind,
        channel="email",
        actor=STAFF,
        purpose="notification.delivery" if kind == "restriction" else None,
        jurisdiction=jurisdiction,
    )
    svc.verify(db, ctx, row.id, method="email_code", actor=STAFF)
    return row.id


def test_a_sign_in_link_works_once_and_not_after_it_expires(
    client: TestClient, db: Session, clock: FakeClock
) -> None:
    staff = add_staff(db, role="privacy_officer", clock=clock)
    link = issue_link(db, staff.id, clock=clock)
    first = client.post(SESSIONS, json={"token": link})
    assert first.status_code == 201
    again = client.post(SESSIONS, json={"token": link})
    assert again.status_code == 422 and again.json()["errors"][0]["rule"] == "valid_link"
    late = issue_link(db, staff.id, clock=clock)
    clock.advance(timedelta(minutes=15))
    assert client.post(SESSIONS, json={"token": late}).status_code == 422
    token = first.json()["access_token"]
    me = client.get("/api/v1/console/me", headers=bearer(token))
    assert me.json() == {"staff_id": str(staff.id), "role": "privacy_officer"}
    assert link not in str(db.execute(sa.text("SELECT * FROM staff_tokens")).all())


def test_a_session_ends_at_sign_out_and_when_the_staff_member_is_deactivated(
    client: TestClient, db: Session, clock: FakeClock
) -> None:
    token = _signed_in(client, db, clock, "support")
    assert client.get(DESK, headers=bearer(token)).status_code == 200
    ended = client.delete(f"{SESSIONS}/current", headers=bearer(token))
    assert ended.status_code == 204
    assert ended.content == b"" and "content-type" not in ended.headers
    assert client.get(DESK, headers=bearer(token)).status_code == 401
    staff = add_staff(db, role="support", clock=clock)
    made = client.post(SESSIONS, json={"token": issue_link(db, staff.id, clock=clock)})
    other = made.json()["access_token"]
    deactivate_staff(db, staff.id, clock=clock)
    assert client.get(DESK, headers=bearer(other)).status_code == 401


@pytest.mark.clause("CPE-IV.1.a")
def test_subscriber_tokens_and_no_token_are_not_staff(client: TestClient, db: Session) -> None:
    from tests.accounts.conftest import sign_in

    email = unique_email()
    activate(client, db, email=email, phone=unique_phone())
    subscriber = sign_in(client, email).json()["access_token"]
    assert client.get(DESK).status_code == 401
    answer = client.get(DESK, headers=bearer(subscriber))
    assert answer.status_code == 401
    assert answer.headers["content-type"] == "application/problem+json"


@pytest.mark.clause("CPE-V.6.b")
def test_the_queue_lists_overdue_requests_first_without_personal_values(
    client: TestClient, db: Session, ctx: RequestContext, clock: FakeClock
) -> None:
    from tests.requests.conftest import new_subject

    # The policy's own rule (30 days), not GDPR's calendar month.
    early = _request(db, ctx, new_subject(db), jurisdiction="default")
    clock.advance(timedelta(days=20))
    later = _request(db, ctx, new_subject(db), jurisdiction="default")
    clock.advance(timedelta(days=10, hours=1))  # the first is one hour past its 30 days
    token = _signed_in(client, db, clock, "support")
    listed = client.get(DESK, headers=bearer(token))
    assert listed.status_code == 200, listed.text
    rows = listed.json()
    assert [row["id"] for row in rows[:2]] == [str(early), str(later)]
    assert rows[0]["overdue"] is True and rows[1]["overdue"] is False
    only_late = client.get(DESK, params={"overdue": "true"}, headers=bearer(token)).json()
    assert [row["id"] for row in only_late] == [str(early)]
    assert "@" not in listed.text
    assert client.get(DESK, params={"status": "nope"}, headers=bearer(token)).status_code == 422


def test_support_sees_the_queue_but_only_a_privacy_officer_decides(
    client: TestClient, db: Session, ctx: RequestContext, clock: FakeClock
) -> None:
    from tests.requests.conftest import new_subject

    request_id = _request(db, ctx, new_subject(db))
    support = _signed_in(client, db, clock, "support")
    admin = _signed_in(client, db, clock, "admin")
    denied = client.post(f"{DESK}/{request_id}/approve", headers=bearer(support))
    assert denied.status_code == 403
    assert client.get(DESK, headers=bearer(admin)).status_code == 403
    assert svc.get(db, request_id).status is RequestStatus.IN_PROGRESS


@pytest.mark.clause("CPE-V.6.d")
@pytest.mark.clause("CPE-IX.4")
def test_a_privacy_officer_approves_refuses_and_extends_and_the_requester_is_told(
    client: TestClient, db: Session, ctx: RequestContext, clock: FakeClock
) -> None:
    email = unique_email()
    subject = activate(client, db, email=email, phone=unique_phone())
    token = _signed_in(client, db, clock, "privacy_officer")
    approved = client.post(f"{DESK}/{_request(db, ctx, subject)}/approve", headers=bearer(token))
    assert approved.status_code == 200, approved.text
    assert approved.json()["status"] == "completed"
    assert last_message(db, "request.completed", email=email)["reference"] == approved.json()["id"]

    refused_id = _request(db, ctx, subject)
    bad = client.post(f"{DESK}/{refused_id}/refuse", json={"code": "NOPE"}, headers=bearer(token))
    assert bad.status_code == 422 and svc.get(db, refused_id).status is RequestStatus.IN_PROGRESS
    needs = client.post(
        f"{DESK}/{refused_id}/refuse", json={"code": "MALICE_OR_ABUSE"}, headers=bearer(token)
    )
    assert needs.status_code == 422 and needs.json()["errors"][0]["field"] == "evidence"
    refused = client.post(
        f"{DESK}/{refused_id}/refuse", json={"code": "IMPRACTICAL"}, headers=bearer(token)
    )
    assert refused.status_code == 200, refused.text
    assert refused.json()["refusal_code"] == "IMPRACTICAL"
    assert refused.json()["reviewer"].startswith("staff:")
    told = last_message(db, "request.refused", email=email)
    assert "impractical" in told["reason"] and "data protection authority" in told["complaint"]

    extended_id = _request(db, ctx, subject)
    wrong = client.post(
        f"{DESK}/{extended_id}/extend", json={"months": 2, "reason": "bored"}, headers=bearer(token)
    )
    assert wrong.status_code == 422
    extended = client.post(
        f"{DESK}/{extended_id}/extend",
        json={"months": 2, "reason": "complexity"},
        headers=bearer(token),
    )
    assert extended.status_code == 200, extended.text
    assert extended.json()["status"] == "extended"
    assert (
        last_message(db, "request.extended", email=email)["due"] == (extended.json()["due_at"][:10])
    )
    closed = client.post(f"{DESK}/{refused_id}/approve", headers=bearer(token))
    assert closed.status_code == 409


def test_the_vocabulary_names_every_refusal_code_staff_may_choose(
    client: TestClient, db: Session, clock: FakeClock
) -> None:
    from doorstep.privacy.requests.codes import RefusalCode

    token = _signed_in(client, db, clock, "privacy_officer")
    vocabulary = client.get("/api/v1/console/requests-vocabulary", headers=bearer(token)).json()
    chosen = {code.value for code in RefusalCode} - {RefusalCode.LEGAL_HOLD.value}
    assert set(vocabulary["refusal_codes"]) == chosen  # a hold is placed, never chosen
    assert set(vocabulary["extension_reasons"]) == {"complexity", "number_of_requests"}


def test_an_evidence_reference_that_is_not_an_id_is_refused_and_changes_nothing(
    client: TestClient, db: Session, ctx: RequestContext, clock: FakeClock
) -> None:
    from tests.requests.conftest import new_subject

    token = _signed_in(client, db, clock, "privacy_officer")
    request_id = _request(db, ctx, new_subject(db))
    for evidence in ("ticket 123", "a" * 101, "aa:bb:cc:dd:ee:ff"):
        answer = client.post(
            f"{DESK}/{request_id}/refuse",
            json={"code": "MALICE_OR_ABUSE", "evidence": evidence},
            headers=bearer(token),
        )
        assert answer.status_code == 422, evidence
        assert answer.json()["errors"] == [{"field": "evidence", "rule": "evidence_reference"}]
    assert svc.get(db, request_id).status is RequestStatus.IN_PROGRESS
    done = client.post(
        f"{DESK}/{request_id}/refuse",
        json={"code": "MALICE_OR_ABUSE", "evidence": "TICKET-123"},
        headers=bearer(token),
    )
    assert done.status_code == 200
