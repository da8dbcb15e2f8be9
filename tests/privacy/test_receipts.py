"""Consent receipts: Kantara / ISO/IEC TS 27560 fields, signed (EdDSA), verifiable by
anyone with the published key; any change to a receipt makes it fail."""

from __future__ import annotations

import base64
import hashlib
import json
import stat
from pathlib import Path

import jwt
import pytest
from sqlalchemy.orm import Session

from doorstep.core.clock import FakeClock
from doorstep.core.errors import ConfigurationError
from doorstep.core.settings import Settings
from doorstep.privacy.consent import (
    ReceiptInvalidError,
    ReceiptSigner,
    grant,
    issue_receipt,
    receipt_key_path,
    signer_for,
    verify_receipt,
    withdraw,
)
from doorstep.privacy.purposes import system_actor
from tests.privacy.conftest import NOTICE, audit_rows, new_subject

WIFI = "wifi.location_scan"
ACTOR = system_actor("tests")


@pytest.fixture(scope="module")
def signer() -> ReceiptSigner:
    return ReceiptSigner.generate()


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


@pytest.mark.clause("CPE-V.4.e")
def test_a_receipt_carries_the_consent_receipt_fields_and_verifies(
    db: Session, clock: FakeClock, signer: ReceiptSigner
) -> None:
    subject = new_subject(db)
    given = grant(
        db, subject_id=subject, purpose=WIFI, channel="app", notice_text=NOTICE, clock=clock
    )
    token = issue_receipt(db, given.id, signer=signer, actor=ACTOR)
    claims = verify_receipt(token, signer.jwk)
    assert claims["version"] == "KI-CR-v1.1.0"
    assert claims["jurisdiction"] == "CN"
    assert claims["consentTimestamp"] == int(clock.now().timestamp())
    assert claims["collectionMethod"] == "app"
    assert claims["consentReceiptID"] == str(given.id)
    assert claims["piiPrincipalId"] == str(subject)
    [controller] = claims["piiControllers"]
    assert controller["piiController"] == "ZTE Corporation"
    assert controller["email"] == "privacy@zte.com.cn"
    assert claims["policyUrl"].startswith("https://")
    [service] = claims["services"]
    [purpose] = service["purposes"]
    assert purpose["purposeKey"] == WIFI
    assert purpose["consentType"] == "EXPLICIT"
    assert purpose["piiCategory"] == ["user.location.precise"]
    assert "withdraw" in purpose["termination"].lower()
    assert purpose["thirdPartyDisclosure"] is False
    assert claims["sensitive"] is True
    assert claims["spiCat"] == ["user.location.precise"]
    assert claims["consentEvent"] == {
        "type": "given",
        "time": clock.now().isoformat(),
        "channel": "app",
    }
    assert claims["notice"] == {
        "policyVersion": "1.1",
        "hashAlgorithm": "sha-256",
        "hash": hashlib.sha256(NOTICE.encode()).hexdigest(),
    }
    [row] = audit_rows(db, action="consent.receipt_issued")
    assert row.details == {"consent_event": str(given.id), "kid": signer.kid}


def test_a_withdrawal_has_its_own_receipt(
    db: Session, clock: FakeClock, signer: ReceiptSigner
) -> None:
    subject = new_subject(db)
    grant(db, subject_id=subject, purpose=WIFI, channel="app", notice_text=NOTICE, clock=clock)
    withdrawn = withdraw(db, subject_id=subject, purpose=WIFI, channel="app", clock=clock)
    claims = verify_receipt(issue_receipt(db, withdrawn.id, signer=signer, actor=ACTOR), signer)
    assert claims["consentEvent"]["type"] == "withdrawn"
    assert claims["notice"]["hash"] is None


@pytest.mark.clause("CPE-V.4.e")
def test_a_tampered_receipt_fails(db: Session, clock: FakeClock, signer: ReceiptSigner) -> None:
    subject = new_subject(db)
    given = grant(
        db, subject_id=subject, purpose=WIFI, channel="app", notice_text=NOTICE, clock=clock
    )
    token = issue_receipt(db, given.id, signer=signer, actor=ACTOR)
    header, payload, signature = token.split(".")
    claims = json.loads(_unb64(payload))
    claims["consentTimestamp"] -= 86_400  # claim the consent was given a day earlier
    forged_payload = f"{header}.{_b64(json.dumps(claims).encode())}.{signature}"
    flipped = signature[:-2] + ("A" if signature[-2] != "A" else "B") + signature[-1]
    unsigned = jwt.encode(claims, key=None, algorithm="none")  # type: ignore[arg-type]
    other_key = ReceiptSigner.generate().sign(claims)
    for bad in (forged_payload, f"{header}.{payload}.{flipped}", unsigned, other_key, "junk"):
        with pytest.raises(ReceiptInvalidError):
            verify_receipt(bad, signer.jwk)
    assert verify_receipt(token, signer.jwk)["consentReceiptID"] == str(given.id)


def test_a_subject_can_verify_with_the_published_jwk_alone(
    db: Session, clock: FakeClock, signer: ReceiptSigner
) -> None:
    """No Doorstep code on the subject's side: PyJWT and the JWK Set are enough."""
    subject = new_subject(db)
    given = grant(
        db, subject_id=subject, purpose=WIFI, channel="email", notice_text=NOTICE, clock=clock
    )
    token = issue_receipt(db, given.id, signer=signer, actor=ACTOR)
    published = json.loads(json.dumps(signer.jwks()))
    [jwk] = published["keys"]
    assert set(jwk) == {"kty", "crv", "x", "use", "alg", "kid"}  # no private part
    key = jwt.PyJWK(jwk)
    claims = jwt.decode(token, key.key, algorithms=["EdDSA"])
    assert claims["collectionMethod"] == "email"
    assert jwt.get_unverified_header(token)["kid"] == jwk["kid"]


def test_the_signing_key_is_created_once_with_mode_0600(settings: Settings) -> None:
    first = signer_for(settings)
    path = receipt_key_path(settings)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert signer_for(settings).kid == first.kid  # reused, not regenerated
    assert "PRIVATE" not in repr(first)
    path.chmod(0o644)
    with pytest.raises(ConfigurationError, match="chmod 600"):
        signer_for(settings)


def test_an_operator_key_is_accepted_and_a_wrong_one_refused(tmp_path: Path) -> None:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ec import SECP256R1, generate_private_key

    with pytest.raises(ConfigurationError, match="Ed25519"):
        ReceiptSigner.from_pem(
            generate_private_key(SECP256R1()).private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
        )
    with pytest.raises(ConfigurationError, match="no receipt signing key"):
        ReceiptSigner.load(tmp_path / "missing.pem")
