"""``doorstep accounts show|lock|unlock`` and manual requests (ids only, never personal
values), and the optional profile that exists only under consent."""

from __future__ import annotations

import base64
import re
import uuid

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from doorstep.accounts.context import AccountContext
from doorstep.core.runtime import Runtime
from tests.accounts.conftest import (
    PREFIX,
    activate,
    audit_actions,
    bearer,
    make_client,
    sign_in,
    unique_email,
    unique_phone,
)
from tests.privacy.test_consent_cli import doorstep

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32


def test_show_lock_and_unlock_print_ids_and_states_only(committed: Runtime) -> None:
    email, phone = unique_email(), unique_phone()
    for client in make_client(committed):
        with committed.sessions() as db:
            account_id = activate(client, db, email=email, phone=phone)
        token = sign_in(client, email).json()["access_token"]
        settings = committed.settings

        shown = doorstep(settings, "accounts", "show", str(account_id))
        assert shown.returncode == 0, shown.stderr
        assert re.search(r"status\s+active", shown.stdout)
        assert email not in shown.stdout and phone not in shown.stdout
        assert "@" not in shown.stdout + shown.stderr

        locked = doorstep(settings, "accounts", "lock", str(account_id))
        assert locked.returncode == 0, locked.stderr
        assert "1 session(s) ended" in locked.stdout
        assert client.get(f"{PREFIX}/me", headers=bearer(token)).status_code == 401
        refused = sign_in(client, email)
        assert refused.status_code == 403 and refused.json()["reason"] == "locked"
        assert doorstep(settings, "accounts", "lock", str(account_id)).returncode == 1

        assert doorstep(settings, "accounts", "unlock", str(account_id)).returncode == 0
        assert sign_in(client, email).status_code == 201

        opened = doorstep(settings, "accounts", "deregistration-request", str(account_id))
        assert opened.returncode == 0, opened.stderr
        request_id = re.search(r"request (\S+) for account", opened.stdout).group(1)  # type: ignore[union-attr]
        listed = doorstep(settings, "accounts", "deregistration-requests")
        assert request_id in listed.stdout and "1 open request(s)" in listed.stdout
        closed = doorstep(settings, "accounts", "deregistration-close", request_id)
        assert closed.returncode == 0, closed.stderr
        assert f"request {request_id} completed" in closed.stdout
        assert sign_in(client, email).status_code == 401

    assert doorstep(committed.settings, "accounts", "show", "nobody").returncode == 2
    missing = doorstep(committed.settings, "accounts", "show", str(uuid.uuid4()))
    assert missing.returncode == 1


def test_the_profile_is_stored_only_under_consent_and_goes_with_its_withdrawal(
    client: TestClient, db: Session
) -> None:
    email = unique_email()
    account_id = activate(client, db, email=email, phone=unique_phone())
    token = sign_in(client, email).json()["access_token"]
    body = {
        "nickname": "Ann",
        "avatar_base64": base64.b64encode(PNG).decode(),
        "date_of_birth": "1990-04-01",
    }

    refused = client.put(f"{PREFIX}/me/profile", headers=bearer(token), json=body)
    assert refused.status_code == 403
    assert (refused.json()["reason"], refused.json()["purpose"]) == (
        "no_consent",
        "account.profile",
    )
    assert client.get(f"{PREFIX}/me", headers=bearer(token)).json()["profile"] is None

    consent = client.post(f"{PREFIX}/me/profile/consent", headers=bearer(token))
    assert consent.status_code == 201 and consent.json()["action"] == "grant"
    stored = client.put(f"{PREFIX}/me/profile", headers=bearer(token), json=body)
    assert stored.status_code == 200, stored.text
    assert stored.json()["avatar_type"] == "image/png"
    profile = client.get(f"{PREFIX}/me", headers=bearer(token)).json()["profile"]
    assert (profile["nickname"], profile["date_of_birth"]) == ("Ann", "1990-04-01")

    not_image = client.put(
        f"{PREFIX}/me/profile",
        headers=bearer(token),
        json={"avatar_base64": base64.b64encode(b"GIF89a....").decode()},
    )
    assert not_image.json()["errors"] == [{"field": "avatar", "rule": "png_or_jpeg"}]

    assert client.delete(f"{PREFIX}/me/profile/consent", headers=bearer(token)).status_code == 204
    assert (
        db.execute(
            sa.text("SELECT count(*) FROM account_profiles WHERE account_id = :a"),
            {"a": account_id},
        ).scalar_one()
        == 0
    )
    assert client.put(f"{PREFIX}/me/profile", headers=bearer(token), json=body).status_code == 403


def test_an_operator_creates_a_verified_account_and_sets_its_password(
    db: Session, ctx: AccountContext
) -> None:
    from doorstep.accounts import admin
    from doorstep.accounts.account.models import Account, AccountStatus
    from doorstep.accounts.signin import flows
    from doorstep.core.errors import ConflictError, InvalidInputError

    email = unique_email()
    account_id = admin.create_verified(
        db,
        ctx,
        email=email.upper(),
        phone=unique_phone(),
        password="first pass phrase 1",
        actor="system:tests",
    )
    account = db.get(Account, account_id)
    assert account is not None and account.status is AccountStatus.ACTIVE
    assert account.email == email and account.email_verified_at is not None
    flows.sign_in(db, ctx, email, "first pass phrase 1", address=None)
    admin.set_password(db, ctx, account_id, "second pass phrase 2", actor="system:tests")
    flows.sign_in(db, ctx, email, "second pass phrase 2", address=None)
    with pytest.raises(ConflictError):
        admin.create_verified(db, ctx, email=email, phone=None, password="x", actor="system:tests")
    # Two accounts without a number: the first's missing number is not "taken".
    first = admin.create_verified(
        db, ctx, email=unique_email(), phone=None, password="a pass phrase 3", actor="system:tests"
    )
    second = admin.create_verified(
        db, ctx, email=unique_email(), phone=None, password="a pass phrase 4", actor="system:tests"
    )
    assert first != second
    with pytest.raises(InvalidInputError) as bad:
        admin.create_verified(db, ctx, email="nope", phone="12", password="x", actor="system:tests")
    assert {e["field"] for e in bad.value.fields["errors"]} == {"email", "phone"}
    assert "account.created_by_operator" in audit_actions(db, account_id)
