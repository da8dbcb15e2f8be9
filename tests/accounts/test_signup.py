"""Sign-up: the fields each policy requires, validation naming field and rule, codes that
prove e-mail and mobile, nothing half-created, nothing revealed about taken identifiers."""

from __future__ import annotations

from typing import Any

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from doorstep.core.clock import FakeClock
from doorstep.core.runtime import Runtime
from tests.accounts.conftest import (
    PASSWORD,
    PREFIX,
    count_messages,
    last_message,
    make_client,
    sign_up,
    unique_email,
    unique_phone,
    with_settings,
)


def _rules(response: Any) -> set[tuple[str, str]]:
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"
    return {(e["field"], e["rule"]) for e in response.json()["errors"]}


def _account_rows(db: Session) -> list[Any]:
    return list(db.execute(sa.text("SELECT * FROM accounts")))


@pytest.mark.clause("CPE-I.i.1.a")
def test_cpe_sign_up_needs_email_mobile_and_password_and_stores_only_those(
    client: TestClient, db: Session
) -> None:
    email, phone = unique_email(), unique_phone()
    missing = sign_up(client, email=email, password=PASSWORD, age=30)
    assert ("phone", "required") in _rules(missing)
    extra = sign_up(client, email=email, phone=phone, password=PASSWORD, age=30, nickname="x")
    assert ("nickname", "extra_forbidden") in _rules(extra)
    assert _account_rows(db) == []

    ok = sign_up(client, email=email.upper(), phone=phone, password=PASSWORD, age=30)
    assert ok.status_code == 202 and ok.json() == {"status": "verification_sent"}
    (row,) = _account_rows(db)
    assert (row.email, row.phone, row.status) == (email, phone, "pending")
    assert row.password_hash.startswith("$argon2id$v=19$m=19456,t=2,p=1$")
    assert PASSWORD not in row.password_hash
    # nothing else personal: no age, no date of birth (the age gate's answer is dropped)
    assert row.child_until is None
    assert db.execute(sa.text("SELECT count(*) FROM account_profiles")).scalar_one() == 0


@pytest.mark.clause("CORP-1.6")
def test_corporate_mode_takes_email_or_mobile(runtime: Runtime, db: Session) -> None:
    for test_client in make_client(with_settings(runtime, signup_identifiers="corp")):
        email_only = sign_up(test_client, email=unique_email(), password=PASSWORD, age=30)
        phone_only = sign_up(test_client, phone=unique_phone(), password=PASSWORD, age=30)
        neither = sign_up(test_client, password=PASSWORD, age=30)
        assert (email_only.status_code, phone_only.status_code) == (202, 202)
        assert ("email", "email_or_phone_required") in _rules(neither)
    assert len(_account_rows(db)) == 2


@pytest.mark.clause("CORP-1.7")
def test_profile_fields_are_never_required(client: TestClient, db: Session) -> None:
    response = sign_up(
        client, email=unique_email(), phone=unique_phone(), password=PASSWORD, age=40
    )
    assert response.status_code == 202
    assert db.execute(sa.text("SELECT count(*) FROM account_profiles")).scalar_one() == 0


def test_every_invalid_field_is_named_with_its_rule_never_its_value(client: TestClient) -> None:
    response = sign_up(
        client, email="not-an-address", phone="12", password="short", date_of_birth="2999-01-01"
    )
    rules = _rules(response)
    assert {
        ("email", "email_format"),
        ("phone", "phone_format"),
        ("password", "too_short"),
        ("date_of_birth", "date_of_birth_range"),
    } <= rules
    assert "not-an-address" not in response.text and "short" not in response.json()["detail"]


@pytest.mark.clause("CPE-IV.4.a")
@pytest.mark.parametrize(
    ("password", "rule"),
    [
        ("Password2024!", "common_password"),
        ("qwertyuiop123", "common_password"),
        ("aaaaaaaaaaaaaaaa", "too_few_distinct_characters"),
        ("abcdeabcdeabcde", "repeated_pattern"),
        ("x" * 129, "too_long"),
    ],
)
def test_weak_passwords_are_refused_with_a_named_rule(
    client: TestClient, password: str, rule: str
) -> None:
    response = sign_up(
        client, email=unique_email(), phone=unique_phone(), password=password, age=30
    )
    assert ("password", rule) in _rules(response)


def test_a_password_must_not_contain_the_email_local_part(client: TestClient) -> None:
    response = sign_up(
        client,
        email="marguerite.dupont@example.org",
        phone=unique_phone(),
        password="marguerite.dupont!Zz9",
        age=30,
    )
    assert ("password", "contains_identifier") in _rules(response)


def test_codes_prove_email_and_mobile_and_then_the_account_is_active(
    client: TestClient, db: Session
) -> None:
    email, phone = unique_email(), unique_phone()
    assert sign_up(client, email=email, phone=phone, password=PASSWORD, age=30).status_code == 202
    mail = last_message(db, "account.verify_email", email=email)
    sms = last_message(db, "account.verify_phone", phone=phone)
    assert mail["code"].isdigit() and len(mail["code"]) == 6
    # codes are stored as keyed hashes, never as given
    hashes = [
        bytes(r.code_hash)
        for r in db.execute(sa.text("SELECT code_hash FROM account_verifications"))
    ]
    assert all(mail["code"].encode() not in h for h in hashes) and len(hashes) == 2

    first = client.post(f"{PREFIX}/verification", json={"identifier": email, "code": mail["code"]})
    assert first.json() == {"status": "pending"}
    second = client.post(f"{PREFIX}/verification", json={"identifier": phone, "code": sms["code"]})
    assert second.json() == {"status": "active"}
    again = client.post(f"{PREFIX}/verification", json={"identifier": phone, "code": sms["code"]})
    assert ("code", "invalid_code") in _rules(again)


def test_a_code_survives_only_a_few_wrong_guesses_which_stay_counted(
    client: TestClient, db: Session
) -> None:
    email, phone = unique_email(), unique_phone()
    sign_up(client, email=email, phone=phone, password=PASSWORD, age=30)
    code = last_message(db, "account.verify_email", email=email)["code"]
    wrong = "000000" if code != "000000" else "111111"
    for _ in range(5):
        response = client.post(f"{PREFIX}/verification", json={"identifier": email, "code": wrong})
        assert ("code", "invalid_code") in _rules(response)
    # the guesses were committed despite the errors, and the code is now dead
    late = client.post(f"{PREFIX}/verification", json={"identifier": email, "code": code})
    assert ("code", "invalid_code") in _rules(late)
    attempts = db.execute(
        sa.text("SELECT attempts FROM account_verifications WHERE kind = 'verify_email'")
    ).scalar_one()
    assert attempts == 5


def test_a_code_expires(client: TestClient, db: Session, clock: FakeClock) -> None:
    from datetime import timedelta

    email, phone = unique_email(), unique_phone()
    sign_up(client, email=email, phone=phone, password=PASSWORD, age=30)
    code = last_message(db, "account.verify_email", email=email)["code"]
    clock.advance(timedelta(minutes=15))
    expired = client.post(f"{PREFIX}/verification", json={"identifier": email, "code": code})
    assert ("code", "invalid_code") in _rules(expired)
    clock.advance(timedelta(seconds=1))
    assert (
        client.post(f"{PREFIX}/verification/resend", json={"identifier": email}).status_code == 202
    )
    fresh = last_message(db, "account.verify_email", email=email)["code"]
    ok = client.post(f"{PREFIX}/verification", json={"identifier": email, "code": fresh})
    assert ok.status_code == 200


def test_a_taken_email_answers_like_success_and_tells_the_owner(
    client: TestClient, db: Session
) -> None:
    email = unique_email()
    first = sign_up(client, email=email, phone=unique_phone(), password=PASSWORD, age=30)
    second = sign_up(client, email=email, phone=unique_phone(), password=PASSWORD + "x", age=30)
    assert (first.status_code, second.status_code) == (202, 202)
    assert first.json() == second.json()
    assert len(_account_rows(db)) == 1
    assert count_messages(db, "account.verify_email", email=email) == 1
    assert count_messages(db, "account.signup_attempt", email=email) == 1
    unknown = client.post(f"{PREFIX}/verification/resend", json={"identifier": unique_email()})
    assert unknown.status_code == 202


def test_nothing_is_half_created_when_a_step_fails(
    client: TestClient, db: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    import doorstep.notify.services as notify

    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("the outbox is down")

    monkeypatch.setattr(notify, "queue_sms", broken)
    response = sign_up(
        client, email=unique_email(), phone=unique_phone(), password=PASSWORD, age=30
    )
    assert response.status_code == 500
    for table in ("subjects", "accounts", "account_verifications", "outbox"):
        assert db.execute(sa.text(f"SELECT count(*) FROM {table}")).scalar_one() == 0, table


def test_unknown_identifiers_fail_verification_like_wrong_codes(client: TestClient) -> None:
    response = client.post(
        f"{PREFIX}/verification", json={"identifier": unique_email(), "code": "123456"}
    )
    assert ("code", "invalid_code") in _rules(response)


def test_resending_past_the_hourly_limit_answers_like_an_unknown_identifier(
    client: TestClient, db: Session
) -> None:
    email = unique_email()
    sign_up(client, email=email, phone=unique_phone(), password=PASSWORD, age=30)
    answers = [
        client.post(f"{PREFIX}/verification/resend", json={"identifier": email}).status_code
        for _ in range(6)
    ]
    assert answers == [202] * 6
    assert count_messages(db, "account.verify_email", email=email) == 5
