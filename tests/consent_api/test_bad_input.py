"""Bad input to the consent API: a 422 naming the field, and nothing changes."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from doorstep.core.runtime import Runtime
from tests.consent_api.conftest import PREFIX, grant, item, keys, ledger, subscriber, withdraw

FAKE_HASH = "0" * 64


@pytest.mark.parametrize(
    ("purpose", "rule"),
    [
        ("no.such_purpose", "known_purpose"),
        ("account.management", "consent_based_purpose"),
        ("account.guardian_consent", "decided_by_guardian"),
    ],
)
def test_a_purpose_the_subscriber_cannot_decide_is_a_422_naming_purpose(
    client: TestClient, db: Session, runtime: Runtime, purpose: str, rule: str
) -> None:
    subject, auth = subscriber(db, runtime)
    for answer in (
        grant(client, auth, purpose, "k1", FAKE_HASH),
        withdraw(client, auth, purpose, "k2"),
    ):
        assert answer.status_code == 422, answer.text
        assert answer.headers["content-type"] == "application/problem+json"
        assert answer.json()["errors"] == [{"field": "purpose", "rule": rule}]
    assert ledger(db, subject) == [] and keys(db, subject) == 0


def test_a_grant_without_the_current_notice_or_a_key_is_refused(
    client: TestClient, db: Session, runtime: Runtime
) -> None:
    subject, auth = subscriber(db, runtime)
    url = f"{PREFIX}/device.qr_camera/grant"
    keyed = {**auth, "Idempotency-Key": "k"}
    notice = item(client.get(PREFIX, headers=auth), "device.qr_camera")["notice"]["hash"]
    cases = [
        (client.post(url, json={}, headers=keyed), "notice_hash", "missing"),
        (
            client.post(url, json={"notice_hash": "yes"}, headers=keyed),
            "notice_hash",
            "string_pattern_mismatch",
        ),
        (
            client.post(url, json={"notice_hash": FAKE_HASH}, headers=keyed),
            "notice_hash",
            "current_notice",
        ),
        (
            client.post(url, json={"notice_hash": notice}, headers=auth),
            "header.Idempotency-Key",
            "missing",
        ),
        (
            client.post(
                url, json={"notice_hash": notice}, headers={**auth, "Idempotency-Key": "a b"}
            ),
            "header.Idempotency-Key",
            "string_pattern_mismatch",
        ),
    ]
    for answer, field, rule in cases:
        assert answer.status_code == 422, answer.text
        assert {"field": field, "rule": rule} in answer.json()["errors"], answer.text
    assert ledger(db, subject) == [] and keys(db, subject) == 0


def test_someone_elses_receipt_is_not_found(
    client: TestClient, db: Session, runtime: Runtime
) -> None:
    _ann, ann_auth = subscriber(db, runtime)
    _bob, bob_auth = subscriber(db, runtime)
    notice = item(client.get(PREFIX, headers=ann_auth), "device.qr_camera")["notice"]["hash"]
    event = grant(client, ann_auth, "device.qr_camera", "k", notice).json()["decision"]["event_id"]
    assert client.get(f"{PREFIX}/receipts/{event}", headers=bob_auth).status_code == 404
    assert client.get(f"{PREFIX}/receipts/{event}", headers=ann_auth).status_code == 200
    assert client.get(PREFIX).status_code == 401
