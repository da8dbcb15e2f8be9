"""The app grants and withdraws through the API; the next use after a withdrawal is refused."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from doorstep.core.errors import PurposeRefusedError
from doorstep.core.runtime import Runtime
from doorstep.devices.access import require_consent
from doorstep.devices.wifi import ELEMENT, SCAN_PURPOSE
from doorstep.privacy.consent.terms import load_terms
from doorstep.usp.claims import display_claim_code
from doorstep.usp.config import UspConfig
from tests.consent_api.conftest import PREFIX, grant, item, ledger, subscriber, withdraw
from tests.devices.conftest import devices_for, provision
from tests.packs import reference_gate, reference_pack, reference_terms

BINDINGS = "/api/v1/devices/bindings"


@pytest.mark.clause("CPE-I.iii.W")
@pytest.mark.clause("CPE-V.4.a")
def test_camera_consent_given_and_withdrawn_in_the_app_the_next_qr_scan_is_refused(
    client: TestClient, db: Session, runtime: Runtime
) -> None:
    first, second = devices_for(UspConfig(), 2)
    provision(db, runtime, [first, second])
    subject, auth = subscriber(db, runtime)
    camera = item(client.get(PREFIX, headers=auth), "device.qr_camera")
    assert (camera["state"], camera["enabled"], camera["last_decision"]) == (
        "not_asked",
        False,
        None,
    )
    assert camera["optional"] is True and camera["decided_by"] == "subscriber"
    assert camera["manual_path"] and camera["manual_path"] in camera["notice"]["text"]

    given = grant(client, auth, "device.qr_camera", "tap-1", camera["notice"]["hash"])
    assert given.status_code == 201, given.text
    assert given.json()["decision"]["state"] == "granted" and given.json()["replayed"] is False
    after = item(client.get(PREFIX, headers=auth), "device.qr_camera")
    assert after["state"] == "granted" and after["enabled"] is True
    assert after["last_decision"]["policy_version"] == reference_terms().require_policy().version
    assert after["last_decision"]["channel"] == "app"
    scanned = client.post(BINDINGS, json={"qr_payload": first.claim_payload()}, headers=auth)
    assert scanned.status_code == 201, scanned.text
    assert scanned.json()["method"] == "qr"

    gone = withdraw(client, auth, "device.qr_camera", "tap-2")
    assert gone.status_code == 200, gone.text
    assert gone.json()["decision"]["state"] == "withdrawn"
    # the app is told which function is now off and how to do without it
    assert gone.json()["now_off"] == {
        "purpose": "device.qr_camera",
        "function": camera["function"],
        "manual_path": camera["manual_path"],
    }
    refused = client.post(BINDINGS, json={"qr_payload": second.claim_payload()}, headers=auth)
    assert refused.status_code == 403, refused.text
    assert refused.json()["reason"] == "consent_withdrawn"
    typed = client.post(
        BINDINGS, json={"claim_code": display_claim_code(second.claim_code)}, headers=auth
    )
    assert typed.status_code == 201 and typed.json()["method"] == "manual"
    assert item(client.get(PREFIX, headers=auth), "device.qr_camera")["state"] == "withdrawn"
    assert ledger(db, subject) == [
        ("device.qr_camera", "grant", "app"),
        ("device.qr_camera", "withdraw", "app"),
    ]


@pytest.mark.clause("CPE-I.iii.W")
def test_location_consent_withdrawn_in_the_app_stops_the_wifi_scan_at_once(
    client: TestClient, db: Session, runtime: Runtime
) -> None:
    subject, auth = subscriber(db, runtime)
    gate = reference_gate()
    location = item(client.get(PREFIX, headers=auth), "wifi.location_scan")
    given = grant(client, auth, "wifi.location_scan", "k1", location["notice"]["hash"])
    assert given.status_code == 201, given.text
    # the Wi-Fi scan's own check relies on the grant the app recorded
    relied_on = require_consent(db, gate, subject, SCAN_PURPOSE, element=ELEMENT)
    assert relied_on == given.json()["decision"]["event_id"]
    gone = withdraw(client, auth, "wifi.location_scan", "k2")
    assert gone.status_code == 200, gone.text
    assert gone.json()["now_off"]["manual_path"] == location["manual_path"]
    with pytest.raises(PurposeRefusedError) as refused:
        require_consent(db, gate, subject, SCAN_PURPOSE, element=ELEMENT)
    assert refused.value.fields["reason"] == "consent_withdrawn"
    # a second withdrawal has nothing to withdraw: 409, and the ledger is unchanged
    again = withdraw(client, auth, "wifi.location_scan", "k3")
    assert again.status_code == 409 and again.json()["reason"] == "not_granted"
    assert [action for _p, action, _c in ledger(db, subject)] == ["grant", "withdraw"]


def test_every_consent_based_purpose_of_the_pack_the_subscriber_decides_is_listed(
    client: TestClient, db: Session, runtime: Runtime
) -> None:
    _subject, auth = subscriber(db, runtime)
    listing = client.get(PREFIX, headers=auth).json()
    terms = load_terms(reference_pack())
    expected = [key for key in terms.purposes if key != "account.guardian_consent"]
    assert [entry["purpose"] for entry in listing["consents"]] == expected
    assert listing["policy"]["version"] == terms.require_policy().version
    assert listing["language"] == "en"


def test_withdrawing_the_profile_in_the_app_deletes_the_profile(
    client: TestClient, db: Session, runtime: Runtime
) -> None:
    subject, auth = subscriber(db, runtime)
    profile = item(client.get(PREFIX, headers=auth), "account.profile")
    assert (
        grant(client, auth, "account.profile", "p1", profile["notice"]["hash"]).status_code == 201
    )
    put = client.put("/api/v1/accounts/me/profile", json={"nickname": "Wren"}, headers=auth)
    assert put.status_code == 200, put.text
    assert withdraw(client, auth, "account.profile", "p2").status_code == 200
    left = db.execute(
        sa.text("SELECT count(*) FROM account_profiles WHERE account_id = :s"), {"s": subject}
    ).scalar_one()
    assert left == 0
    assert ledger(db, subject)[-1] == ("account.profile", "withdraw", "app")
