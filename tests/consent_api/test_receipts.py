"""Receipts of the app's decisions: Kantara 1.1 and ISO/IEC TS 27560, verified with the JWKS."""

from __future__ import annotations

import base64
import json
import uuid
import warnings
from typing import Any

import pytest
from fastapi.testclient import TestClient
from joserfc import jws
from joserfc.errors import BadSignatureError, SecurityWarning
from joserfc.jwk import OKPKey
from sqlalchemy.orm import Session

from doorstep.core.runtime import Runtime
from tests.consent_api.conftest import PREFIX, grant, item, subscriber, withdraw
from tests.packs import reference_pack, reference_terms


def _verified(token: str, jwks: dict[str, Any]) -> dict[str, Any]:
    """The payload of ``token`` checked with the published key its header names."""
    header = jws.extract_compact(token.encode("ascii")).headers()
    (key,) = [key for key in jwks["keys"] if key["kid"] == header["kid"]]
    assert header["alg"] == "EdDSA"
    with warnings.catch_warnings():  # joserfc warns that RFC 9864 deprecates the name EdDSA
        warnings.simplefilter("ignore", SecurityWarning)
        found = jws.deserialize_compact(token, OKPKey.import_key(key), algorithms=["EdDSA"])
    payload: dict[str, Any] = json.loads(found.payload)
    return payload


@pytest.mark.clause("CPE-V.4.e")
def test_each_decision_has_receipts_that_verify_with_the_published_key(
    client: TestClient, db: Session, runtime: Runtime
) -> None:
    subject, auth = subscriber(db, runtime)
    notice = item(client.get(PREFIX, headers=auth), "wifi.location_scan")["notice"]
    given = grant(client, auth, "wifi.location_scan", "g", notice["hash"]).json()["decision"]
    gone = withdraw(client, auth, "wifi.location_scan", "w").json()["decision"]
    jwks = client.get("/.well-known/jwks.json").json()
    policy = reference_terms().require_policy()
    controller = reference_pack().controller
    assert controller is not None
    for decision, event_type, state in (
        (given, "given", "active"),
        (gone, "withdrawn", "withdrawn"),
    ):
        answer = client.get(f"{PREFIX}/receipts/{decision['event_id']}", headers=auth)
        assert answer.status_code == 200, answer.text
        body = answer.json()
        assert body["jwks_uri"] == "/.well-known/jwks.json"
        assert body["kid"] in {key["kid"] for key in jwks["keys"]}
        kantara = _verified(body["kantara"]["jws"], jwks)
        assert kantara == body["kantara"]["claims"]
        # the Kantara Consent Receipt 1.1 fields
        assert kantara["version"] == "KI-CR-v1.1.0"
        assert kantara["jurisdiction"] == policy.jurisdiction
        assert kantara["policyUrl"] == policy.url
        assert kantara["collectionMethod"] == "app"
        assert kantara["consentReceiptID"] == decision["event_id"]
        assert kantara["piiPrincipalId"] == str(subject)
        assert isinstance(kantara["consentTimestamp"], int)
        assert kantara["piiControllers"][0]["piiController"] == controller.name
        (service,) = kantara["services"]
        (purpose,) = service["purposes"]
        assert purpose["purposeKey"] == "wifi.location_scan"
        assert purpose["consentType"] == "EXPLICIT"
        assert "user.location.precise" in purpose["piiCategory"]
        assert kantara["sensitive"] is True and "user.location.precise" in kantara["spiCat"]
        assert kantara["consentEvent"]["type"] == event_type
        assert kantara["notice"]["policyVersion"] == decision["policy_version"]
        # the ISO/IEC TS 27560 record, signed with the same key
        record = _verified(body["iso27560"]["jws"], jwks)
        assert record == body["iso27560"]["claims"]
        assert record["schema_version"] == "ISO/IEC TS 27560:2023"
        assert record["record_id"] == decision["event_id"]
        assert record["pii_principal_id"] == str(subject)
        assert record["event"]["event_type"] == event_type
        assert record["event"]["collection_method"] == "app"
        assert record["state"] == state
        assert record["processing"][0]["purpose_id"] == "wifi.location_scan"
        assert record["processing"][0]["legal_basis"] == "consent"
        assert record["notice"]["policy_version"] == policy.version
    # the grant's notice is the one the app showed
    first = client.get(f"{PREFIX}/receipts/{given['event_id']}", headers=auth).json()
    assert first["kantara"]["claims"]["notice"]["hash"] == notice["hash"]


def test_a_changed_receipt_does_not_verify(
    client: TestClient, db: Session, runtime: Runtime
) -> None:
    _subject, auth = subscriber(db, runtime)
    notice = item(client.get(PREFIX, headers=auth), "device.qr_camera")["notice"]["hash"]
    event = grant(client, auth, "device.qr_camera", "g", notice).json()["decision"]["event_id"]
    token = client.get(f"{PREFIX}/receipts/{event}", headers=auth).json()["kantara"]["jws"]
    header, payload, signature = token.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    claims["piiPrincipalId"] = str(uuid.uuid4())
    forged = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
    jwks = client.get("/.well-known/jwks.json").json()
    with pytest.raises(BadSignatureError):
        _verified(f"{header}.{forged}.{signature}", jwks)
