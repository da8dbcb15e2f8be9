"""Corrections through a reviewed request; manual deregistration handed to the accounts area."""

from __future__ import annotations

import uuid

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from doorstep.accounts.account.models import Account, AccountStatus
from doorstep.accounts.exceptions import DevicesBoundError
from doorstep.asgi import create_app
from doorstep.core.clock import FakeClock
from doorstep.core.errors import ConflictError, InvalidInputError
from doorstep.core.runtime import Runtime
from doorstep.keys.services import KeyService
from doorstep.privacy.requests import services as svc
from doorstep.privacy.requests.context import RequestContext
from doorstep.privacy.requests.fulfil import approve
from doorstep.privacy.requests.models import RequestStatus
from tests.accounts.conftest import (
    activate,
    audit_actions,
    bearer,
    sign_in,
    unique_email,
    unique_phone,
)
from tests.requests.conftest import STAFF, bound_device, new_account


def _correction(
    db: Session, ctx: RequestContext, subject: uuid.UUID, element: str, value: str
) -> uuid.UUID:
    row = svc.open_request(
        db,
        ctx,
        subject_id=subject,
        kind="correction",
        channel="app",
        actor=STAFF,
        element=element,
        value=value,
    )
    svc.verify(db, ctx, row.id, method="session", actor=STAFF)
    return row.id


@pytest.mark.clause("CPE-V.2.b")
@pytest.mark.clause("CORP-4.2")
def test_an_approved_correction_writes_the_value_and_keeps_a_hash_of_the_old_one(
    db: Session, ctx: RequestContext, keys: KeyService, clock: FakeClock
) -> None:
    subject = new_account(db, keys, clock, "token")
    old = db.get(Account, subject)
    assert old is not None and old.email is not None
    before = old.email
    request_id = _correction(db, ctx, subject, "accounts.email", "  New.Address@Example.ORG ")
    row = svc.get(db, request_id)
    assert row.element == "accounts.email"
    assert row.new_value is not None and b"new.address" not in row.new_value  # sealed
    assert db.get(Account, subject).email == before  # nothing changes before approval
    done = approve(db, ctx, request_id, actor=STAFF)
    assert done.status is RequestStatus.COMPLETED
    db.expire_all()
    account = db.get(Account, subject)
    assert account is not None and account.email == "new.address@example.org"
    assert account.email_verified_at == clock.now()
    hashed = svc.get(db, request_id).old_value_hash
    assert hashed is not None and len(hashed) == 32 and before.encode() not in hashed
    assert "request.corrected" in audit_actions(db, subject)


def test_a_correction_of_an_element_that_cannot_be_corrected_or_a_bad_value_is_refused(
    db: Session, ctx: RequestContext, keys: KeyService, clock: FakeClock
) -> None:
    subject = new_account(db, keys, clock, "token")
    with pytest.raises(InvalidInputError) as element:
        _correction(db, ctx, subject, "accounts.password_hash", "x")
    assert element.value.fields["errors"] == [{"field": "element", "rule": "correctable"}]
    with pytest.raises(InvalidInputError) as value:
        _correction(db, ctx, subject, "accounts.email", "not an address")
    assert value.value.fields["errors"] == [{"field": "value", "rule": "email_format"}]


def test_a_correction_to_a_value_another_account_holds_is_a_conflict(
    db: Session, ctx: RequestContext, keys: KeyService, clock: FakeClock
) -> None:
    first = new_account(db, keys, clock, "a")
    second = new_account(db, keys, clock, "b")
    taken = db.get(Account, second)
    assert taken is not None and taken.email is not None
    request_id = _correction(db, ctx, first, "accounts.email", taken.email)
    with pytest.raises(ConflictError) as clash:
        approve(db, ctx, request_id, actor=STAFF)
    assert clash.value.fields["reason"] == "value_taken"
    assert svc.get(db, request_id).status is RequestStatus.IN_PROGRESS


@pytest.mark.clause("CPE-V.2.a")
def test_the_app_files_a_correction_and_direct_edits_stay_refused(
    runtime: Runtime, db: Session
) -> None:
    with TestClient(create_app(runtime), raise_server_exceptions=False) as client:
        email = unique_email()
        activate(client, db, email=email, phone=unique_phone())
        token = sign_in(client, email).json()["access_token"]
        direct = client.patch(
            "/api/v1/accounts/me", json={"email": unique_email()}, headers=bearer(token)
        )
        assert direct.status_code == 403
        filed = client.post(
            "/api/v1/me/requests",
            json={"kind": "correction", "element": "accounts.phone", "value": unique_phone()},
            headers=bearer(token),
        )
        assert filed.status_code == 201, filed.text
        assert filed.json()["status"] == "in_progress"  # waits for the desk
        bad = client.post(
            "/api/v1/me/requests",
            json={"kind": "correction", "element": "accounts.phone", "value": "12"},
            headers=bearer(token),
        )
        assert bad.status_code == 422


@pytest.mark.clause("CPE-V.5.b")
@pytest.mark.clause("CPE-V.5.c")
def test_an_approved_manual_deregistration_is_handed_to_the_accounts_area(
    db: Session, ctx: RequestContext, keys: KeyService, clock: FakeClock
) -> None:
    subject = new_account(db, keys, clock, "token")
    device = bound_device(db, keys, clock, subject)
    row = svc.open_request(
        db, ctx, subject_id=subject, kind="deregistration", channel="post", actor=STAFF
    )
    svc.verify(db, ctx, row.id, method="postal_id", actor=STAFF)
    with pytest.raises(DevicesBoundError), db.begin_nested():
        approve(db, ctx, row.id, actor=STAFF)
    assert svc.get(db, row.id).status is RequestStatus.IN_PROGRESS
    db.execute(
        sa.text(
            "UPDATE device_bindings SET unbound_at = :now, end_reason = 'unbound' "
            "WHERE device_id = :d"
        ),
        {"now": clock.now(), "d": device},
    )
    done = approve(db, ctx, row.id, actor=STAFF)
    assert done.status is RequestStatus.COMPLETED
    db.expire_all()
    account = db.get(Account, subject)
    assert account is not None and account.status is AccountStatus.DEREGISTERED
    queued = db.execute(
        sa.text("SELECT count(*) FROM procrastinate_jobs WHERE task_name = 'accounts.erase'")
    ).scalar_one()
    assert queued == 1
