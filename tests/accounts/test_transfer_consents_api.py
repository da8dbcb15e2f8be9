"""``/api/v1/accounts/me/transfers``: see, grant and withdraw transfer consents (decision 0035).

The reference pack's relays are in CN; a German number makes the home DE.  The
account signs up agreeing (the helper's default), so the e-mail and SMS relays
carry a consent from sign-up and the push service none.
"""

from __future__ import annotations

import uuid

import sqlalchemy as sa
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from tests.accounts.conftest import (
    PASSWORD,
    PREFIX,
    activate,
    audit_actions,
    bearer,
    last_message,
    sign_in,
    sign_up,
    unique_email,
    unique_phone,
)


def _signed_in(client: TestClient, db: Session) -> tuple[uuid.UUID, dict[str, str]]:
    email = unique_email()
    subject = activate(client, db, email=email, phone=unique_phone())
    return subject, bearer(sign_in(client, email).json()["access_token"])


def _live(db: Session, subject: uuid.UUID) -> list[tuple[str, str]]:
    rows = db.execute(
        sa.text(
            "SELECT recipient, reference FROM transfer_mechanisms WHERE subject_id = :s "
            "AND kind = 'consent' AND revoked_at IS NULL ORDER BY recipient"
        ),
        {"s": subject},
    ).all()
    return [tuple(row) for row in rows]


def test_the_list_names_each_processor_abroad_in_my_language_with_my_consent(
    client: TestClient, db: Session
) -> None:
    _subject, headers = _signed_in(client, db)
    listed = client.get(f"{PREFIX}/me/transfers", headers=headers)
    assert listed.status_code == 200, listed.text
    body = listed.json()
    assert (body["home"], body["language"]) == ("DE", "en")
    carriers = {item["channel"]: item for item in body["carriers"]}
    assert set(carriers) == {"email", "sms", "push"}
    email = carriers["email"]
    assert (email["recipient"], email["country"], email["country_name"]) == (
        "smtp_relay",
        "CN",
        "China",
    )
    assert email["description"].startswith("The SMTP relay")
    assert (email["state"], email["reference"], email["needs_consent"], email["delivers"]) == (
        "granted",
        "signup",
        True,
        True,
    )
    push = carriers["push"]
    assert (push["state"], push["delivers"], push["consent_id"]) == ("not_granted", False, None)
    assert client.get(f"{PREFIX}/me/transfers").status_code == 401


def test_grant_and_withdraw_set_the_state_and_repeating_them_changes_nothing(
    client: TestClient, db: Session
) -> None:
    subject, headers = _signed_in(client, db)
    url = f"{PREFIX}/me/transfers/smtp_relay"

    withdrawn = client.delete(url, headers=headers)
    assert withdrawn.status_code == 200, withdrawn.text
    assert withdrawn.json()["changed"] is True
    assert withdrawn.json()["now_stopped"] == "email"
    assert withdrawn.json()["carrier"]["state"] == "not_granted"
    assert _live(db, subject) == [("sms_provider", "signup")]
    again = client.delete(url, headers=headers)
    assert (again.status_code, again.json()["changed"]) == (200, False)

    granted = client.put(url, headers=headers)
    assert granted.status_code == 201, granted.text
    assert (granted.json()["changed"], granted.json()["carrier"]["reference"]) == (True, "app")
    assert granted.json()["carrier"]["delivers"] is True
    repeated = client.put(url, headers=headers)
    assert (repeated.status_code, repeated.json()["changed"]) == (200, False)
    assert repeated.json()["carrier"]["consent_id"] == granted.json()["carrier"]["consent_id"]
    assert _live(db, subject) == [("sms_provider", "signup"), ("smtp_relay", "app")]
    actions = audit_actions(db, subject)
    assert actions.count("transfers.mechanism_revoked") == 1
    assert actions.count("transfers.mechanism_added") == 3  # two at sign-up, one here


def test_a_recipient_that_carries_none_of_my_messages_abroad_is_refused_naming_it(
    client: TestClient, db: Session
) -> None:
    subject, headers = _signed_in(client, db)
    before = _live(db, subject)
    for recipient in ("authorities", "no_such_relay"):
        for method in (client.put, client.delete):
            answer = method(f"{PREFIX}/me/transfers/{recipient}", headers=headers)
            assert answer.status_code == 422, answer.text
            assert answer.json()["errors"] == [{"field": "recipient", "rule": "foreign_carrier"}]
    assert _live(db, subject) == before


def test_a_subscriber_at_home_has_no_processor_abroad(client: TestClient, db: Session) -> None:
    email, phone = unique_email(), unique_phone()
    answer = sign_up(client, email=email, phone=phone, password=PASSWORD, age=30, country="CN")
    assert answer.status_code == 202, answer.text
    for identifier, template, column in (
        (email, "account.verify_email", "email"),
        (phone, "account.verify_phone", "phone"),
    ):
        code = last_message(db, template, **{column: identifier})["code"]
        proved = client.post(
            f"{PREFIX}/verification", json={"identifier": identifier, "code": code}
        )
        assert proved.status_code == 200, proved.text
    headers = bearer(sign_in(client, email).json()["access_token"])
    listed = client.get(f"{PREFIX}/me/transfers", headers=headers).json()
    assert (listed["home"], listed["carriers"]) == ("CN", [])
    refused = client.put(f"{PREFIX}/me/transfers/smtp_relay", headers=headers)
    assert refused.status_code == 422
