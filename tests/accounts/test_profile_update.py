"""The subscriber updates their own profile data (CORP-4.1), and each change is logged.

Doorstep stores no postal address; the profile (nickname, picture, date of birth)
is what a subscriber edits directly, the language they read too, while the sign-in
identifiers are corrected by a request (CPE-V.2.a, decision 0011, X-3).
"""

from __future__ import annotations

import uuid

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from doorstep.audit.services import flush_events
from tests.accounts.conftest import PREFIX, activate, bearer, sign_in, unique_email, unique_phone


def _writes(db: Session, account: uuid.UUID) -> list[sa.Row[tuple[str, str | None]]]:
    flush_events(db)
    return list(
        db.execute(
            sa.text(
                "SELECT actor, element FROM audit_events WHERE subject_id = :s "
                "AND action = 'personal_data.used' AND element LIKE 'account_profiles.%' "
                "ORDER BY id"
            ),
            {"s": account},
        )
    )


@pytest.mark.clause("CORP-4.1")
def test_the_subscriber_updates_their_profile_and_each_change_is_logged(
    client: TestClient, db: Session
) -> None:
    email = unique_email()
    account = activate(client, db, email=email, phone=unique_phone())
    headers = bearer(sign_in(client, email).json()["access_token"])
    assert client.post(f"{PREFIX}/me/profile/consent", headers=headers).status_code == 201

    first = {"nickname": "Ann", "date_of_birth": "1990-04-01"}
    assert client.put(f"{PREFIX}/me/profile", headers=headers, json=first).status_code == 200
    before = len(_writes(db, account))
    assert before >= 2

    changed = {"nickname": "Annie", "date_of_birth": "1990-04-02"}
    assert client.put(f"{PREFIX}/me/profile", headers=headers, json=changed).status_code == 200
    profile = client.get(f"{PREFIX}/me", headers=headers).json()["profile"]
    assert (profile["nickname"], profile["date_of_birth"]) == ("Annie", "1990-04-02")

    logged = _writes(db, account)[before:]
    assert {row.element for row in logged} >= {
        "account_profiles.nickname",
        "account_profiles.date_of_birth",
    }
    assert {row.actor for row in logged} == {f"subject:{account}"}

    language = client.put(f"{PREFIX}/me/language", headers=headers, json={"language": "de"})
    assert language.status_code == 200
    assert client.get(f"{PREFIX}/me", headers=headers).json()["language"] == "de"
