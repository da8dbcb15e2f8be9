"""The password is the one field a subscriber edits directly; other edits are refused with
the way to a correction request; a reset by code ends every session."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from tests.accounts.conftest import (
    PASSWORD,
    PREFIX,
    activate,
    bearer,
    count_messages,
    last_message,
    sign_in,
    unique_email,
    unique_phone,
)

NEW = "copper-meadow-17-whistle"


def _two_sessions(client: TestClient, db: Session) -> tuple[str, str, str]:
    email = unique_email()
    activate(client, db, email=email, phone=unique_phone())
    return (
        email,
        sign_in(client, email).json()["access_token"],
        sign_in(client, email).json()["access_token"],
    )


@pytest.mark.clause("CPE-V.1.a")
def test_own_account_data_is_viewable_and_the_password_changeable(
    client: TestClient, db: Session
) -> None:
    email, this, other = _two_sessions(client, db)
    me = client.get(f"{PREFIX}/me", headers=bearer(this)).json()
    assert (me["email"], me["status"], me["email_verified"], me["phone_verified"]) == (
        email,
        "active",
        True,
        True,
    )
    changed = client.put(
        f"{PREFIX}/me/password",
        headers=bearer(this),
        json={"current_password": PASSWORD, "new_password": NEW},
    )
    assert changed.status_code == 204
    assert client.get(f"{PREFIX}/me", headers=bearer(this)).status_code == 200
    assert (
        client.get(f"{PREFIX}/me", headers=bearer(other)).status_code == 401
    )  # other sessions end
    assert sign_in(client, email).status_code == 401
    assert sign_in(client, email, NEW).status_code == 201


@pytest.mark.clause("CPE-V.2.a")
def test_registration_data_other_than_the_password_is_not_edited_directly(
    client: TestClient, db: Session
) -> None:
    _, token, _ = _two_sessions(client, db)
    refused = client.patch(f"{PREFIX}/me", headers=bearer(token), json={"email": unique_email()})
    assert refused.status_code == 403
    body = refused.json()
    assert body["reason"] == "self_service_edit_limited" and body["fields"] == ["email"]
    assert body["correction_request"].startswith("/api/v1/")
    ok = client.put(
        f"{PREFIX}/me/password",
        headers=bearer(token),
        json={"current_password": PASSWORD, "new_password": NEW},
    )
    assert ok.status_code == 204


@pytest.mark.clause("CPE-IV.4.a")
def test_a_change_needs_the_current_password_and_a_strong_new_one(
    client: TestClient, db: Session
) -> None:
    _, token, _ = _two_sessions(client, db)
    wrong = client.put(
        f"{PREFIX}/me/password",
        headers=bearer(token),
        json={"current_password": "not-my-password", "new_password": NEW},
    )
    assert wrong.status_code == 401
    weak = client.put(
        f"{PREFIX}/me/password",
        headers=bearer(token),
        json={"current_password": PASSWORD, "new_password": "password123"},
    )
    assert weak.status_code == 422
    assert {(e["field"], e["rule"]) for e in weak.json()["errors"]} >= {
        ("new_password", "too_short"),
        ("new_password", "common_password"),
    }


def test_reset_by_code_ends_every_session_and_unknown_addresses_answer_the_same(
    client: TestClient, db: Session
) -> None:
    email, this, other = _two_sessions(client, db)
    unknown = client.post(f"{PREFIX}/password-reset", json={"identifier": unique_email()})
    known = client.post(f"{PREFIX}/password-reset", json={"identifier": email})
    assert unknown.status_code == known.status_code == 202
    assert unknown.json() == known.json()
    code = last_message(db, "account.password_reset", email=email)["code"]
    bad = client.post(
        f"{PREFIX}/password-reset/confirm",
        json={
            "identifier": email,
            "code": "999999" if code != "999999" else "000000",
            "new_password": NEW,
        },
    )
    assert bad.status_code == 422
    done = client.post(
        f"{PREFIX}/password-reset/confirm",
        json={"identifier": email, "code": code, "new_password": NEW},
    )
    assert done.status_code == 204
    for token in (this, other):
        assert client.get(f"{PREFIX}/me", headers=bearer(token)).status_code == 401
    assert sign_in(client, email, NEW).status_code == 201
    assert count_messages(db, "account.password_reset", email=email) == 1


def test_reset_by_mobile_number_goes_by_sms(client: TestClient, db: Session) -> None:
    phone = unique_phone()
    activate(client, db, email=unique_email(), phone=phone)
    assert client.post(f"{PREFIX}/password-reset", json={"identifier": phone}).status_code == 202
    code = last_message(db, "account.password_reset", phone=phone)["code"]
    done = client.post(
        f"{PREFIX}/password-reset/confirm",
        json={"identifier": phone, "code": code, "new_password": NEW},
    )
    assert done.status_code == 204
    assert sign_in(client, phone, NEW).status_code == 201
