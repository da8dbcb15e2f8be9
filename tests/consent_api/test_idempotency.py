"""A double tap with one Idempotency-Key records one event; a reused key changes nothing."""

from __future__ import annotations

from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from doorstep.core.clock import FakeClock
from doorstep.core.runtime import Runtime
from doorstep.privacy.consent.idempotency import kept_for
from tests.consent_api.conftest import (
    PREFIX,
    grant,
    item,
    keys,
    ledger,
    signed_in,
    subscriber,
    withdraw,
)
from tests.packs import reference_pack


@pytest.mark.clause("CPE-V.4.a")
def test_a_double_tap_records_one_grant_and_one_withdrawal(
    client: TestClient, db: Session, runtime: Runtime
) -> None:
    subject, auth = subscriber(db, runtime)
    notice = item(client.get(PREFIX, headers=auth), "wifi.location_scan")["notice"]["hash"]
    first = grant(client, auth, "wifi.location_scan", "3f1c-tap", notice)
    second = grant(client, auth, "wifi.location_scan", "3f1c-tap", notice)
    assert (first.status_code, second.status_code) == (201, 201)
    assert second.json()["replayed"] is True and second.headers["Idempotent-Replayed"] == "true"
    assert "Idempotent-Replayed" not in first.headers
    assert second.json()["decision"] == first.json()["decision"]
    off = [withdraw(client, auth, "wifi.location_scan", "9a0b-tap") for _ in range(2)]
    assert [answer.status_code for answer in off] == [200, 200]
    assert off[1].json()["decision"] == off[0].json()["decision"]
    assert ledger(db, subject) == [
        ("wifi.location_scan", "grant", "app"),
        ("wifi.location_scan", "withdraw", "app"),
    ]
    assert keys(db, subject) == 2


def test_the_same_key_for_another_request_is_refused_and_changes_nothing(
    client: TestClient, db: Session, runtime: Runtime
) -> None:
    subject, auth = subscriber(db, runtime)
    listing = client.get(PREFIX, headers=auth)
    camera = item(listing, "device.qr_camera")["notice"]["hash"]
    location = item(listing, "wifi.location_scan")["notice"]["hash"]
    assert grant(client, auth, "device.qr_camera", "one-key", camera).status_code == 201
    for reused in (
        grant(client, auth, "wifi.location_scan", "one-key", location),
        withdraw(client, auth, "device.qr_camera", "one-key"),
    ):
        assert reused.status_code == 422, reused.text
        problem = reused.json()
        assert problem["type"].endswith("/idempotency-key-reused")
        assert problem["errors"] == [{"field": "Idempotency-Key", "rule": "same_request_per_key"}]
    assert ledger(db, subject) == [("device.qr_camera", "grant", "app")]
    assert keys(db, subject) == 1


def test_keys_are_the_subscribers_own_and_forgotten_after_the_packs_period(
    client: TestClient, db: Session, runtime: Runtime, clock: FakeClock
) -> None:
    ann, ann_auth = subscriber(db, runtime)
    bob, bob_auth = subscriber(db, runtime)
    notice = item(client.get(PREFIX, headers=ann_auth), "device.qr_camera")["notice"]["hash"]
    for auth in (ann_auth, bob_auth):  # one key, two subscribers: two decisions
        answer = grant(client, auth, "device.qr_camera", "shared", notice)
        assert answer.status_code == 201 and answer.json()["replayed"] is False
    assert withdraw(client, ann_auth, "device.qr_camera", "w").status_code == 200
    period = kept_for(reference_pack())
    assert period == timedelta(days=1)
    clock.advance(period + timedelta(seconds=1))
    # the key is forgotten: the same key and body is a new decision now
    again = grant(client, signed_in(db, runtime, ann), "device.qr_camera", "shared", notice)
    assert again.status_code == 201 and again.json()["replayed"] is False
    assert [action for _p, action, _c in ledger(db, ann)] == ["grant", "withdraw", "grant"]
    assert [action for _p, action, _c in ledger(db, bob)] == ["grant"]
    assert keys(db, ann) == 2  # the expired row was reused, not duplicated
