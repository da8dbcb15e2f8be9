"""Consent receipts: Kantara / ISO/IEC TS 27560 fields, signed (EdDSA), verifiable by
anyone with the published key; any change to a receipt makes it fail."""

from __future__ import annotations

import base64
import hashlib
import json
import stat
import warnings
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from joserfc import jwt
from joserfc.errors import SecurityWarning
from joserfc.jwk import OKPKey
from sqlalchemy.orm import Session

from doorstep.audit.entries import system_actor
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
from tests.packs import reference_pack, reference_terms
from tests.privacy.conftest import NOTICE, audit_rows, new_subject

WIFI = "wifi.location_scan"
#: A receipt PyJWT 2.15 signed before the move to joserfc, and the seed of its test key.
PYJWT_RECEIPT = Path(__file__).parent / "vectors" / "receipt-pyjwt.jws"
PYJWT_KEY_SEED = "2bc30da167f4bb3f17a8f4f251ffb101ecd7cc6525e4648c6a38722dd9e2f43a"
ACTOR = system_actor("tests")

#: The reference pack's consent terms, handed down as a caller hands down the pack in force.
TERMS = reference_terms()


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
        db,
        subject_id=subject,
        purpose=WIFI,
        channel="app",
        notice_text=NOTICE,
        clock=clock,
        terms=TERMS,
    )
    token = issue_receipt(
        db, given.id, signer=signer, actor=ACTOR, pack=reference_pack(), terms=TERMS
    )
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
    grant(
        db,
        subject_id=subject,
        purpose=WIFI,
        channel="app",
        notice_text=NOTICE,
        clock=clock,
        terms=TERMS,
    )
    withdrawn = withdraw(
        db, subject_id=subject, purpose=WIFI, channel="app", clock=clock, terms=TERMS
    )
    claims = verify_receipt(
        issue_receipt(
            db, withdrawn.id, signer=signer, actor=ACTOR, pack=reference_pack(), terms=TERMS
        ),
        signer,
    )
    assert claims["consentEvent"]["type"] == "withdrawn"
    assert claims["notice"]["hash"] is None


@pytest.mark.clause("CPE-V.4.e")
def test_a_tampered_receipt_fails(db: Session, clock: FakeClock, signer: ReceiptSigner) -> None:
    subject = new_subject(db)
    given = grant(
        db,
        subject_id=subject,
        purpose=WIFI,
        channel="app",
        notice_text=NOTICE,
        clock=clock,
        terms=TERMS,
    )
    token = issue_receipt(
        db, given.id, signer=signer, actor=ACTOR, pack=reference_pack(), terms=TERMS
    )
    header, payload, signature = token.split(".")
    claims = json.loads(_unb64(payload))
    claims["consentTimestamp"] -= 86_400  # claim the consent was given a day earlier
    forged_payload = f"{header}.{_b64(json.dumps(claims).encode())}.{signature}"
    flipped = signature[:-2] + ("A" if signature[-2] != "A" else "B") + signature[-1]
    none_header = _b64(json.dumps({"alg": "none", "typ": "JWT"}).encode())
    unsigned = f"{none_header}.{_b64(json.dumps(claims).encode())}."
    other_key = ReceiptSigner.generate().sign(claims)
    for bad in (forged_payload, f"{header}.{payload}.{flipped}", unsigned, other_key, "junk"):
        with pytest.raises(ReceiptInvalidError):
            verify_receipt(bad, signer.jwk)
    assert verify_receipt(token, signer.jwk)["consentReceiptID"] == str(given.id)


def test_a_subject_can_verify_with_the_published_jwk_alone(
    db: Session, clock: FakeClock, signer: ReceiptSigner
) -> None:
    """No Doorstep code on the subject's side: a JOSE library and the JWK Set are enough."""
    subject = new_subject(db)
    given = grant(
        db,
        subject_id=subject,
        purpose=WIFI,
        channel="email",
        notice_text=NOTICE,
        clock=clock,
        terms=TERMS,
    )
    token = issue_receipt(
        db, given.id, signer=signer, actor=ACTOR, pack=reference_pack(), terms=TERMS
    )
    published = json.loads(json.dumps(signer.jwks()))
    [jwk] = published["keys"]
    assert set(jwk) == {"kty", "crv", "x", "use", "alg", "kid"}  # no private part
    with warnings.catch_warnings():  # joserfc warns that RFC 9864 deprecates the name EdDSA
        warnings.simplefilter("ignore", SecurityWarning)
        decoded = jwt.decode(token, OKPKey.import_key(jwk), algorithms=["EdDSA"])
    assert decoded.claims["collectionMethod"] == "email"
    assert decoded.header == {"alg": "EdDSA", "kid": jwk["kid"], "typ": "JWT"}


def test_a_receipt_signed_before_the_move_to_joserfc_verifies_and_is_signed_the_same() -> None:
    """Receipts already handed out keep verifying, and a receipt is still the same bytes:
    header, claim encoding (ASCII JSON, no spaces) and Ed25519 signature."""
    token = PYJWT_RECEIPT.read_text(encoding="ascii").strip()
    signer = ReceiptSigner(Ed25519PrivateKey.from_private_bytes(bytes.fromhex(PYJWT_KEY_SEED)))
    claims = verify_receipt(token, signer.jwks()["keys"][0])
    assert claims["consentReceiptID"] == "0b7e6a5c-2f0d-4c4e-9d1e-3a2b1c0d9e8f"
    assert r"Shenzhen (\u6df1\u5733)" in _unb64(token.split(".")[1]).decode("ascii")
    assert "(深圳)" in claims["piiControllers"][0]["address"]
    assert json.loads(_unb64(token.split(".")[0])) == {
        "alg": "EdDSA",
        "kid": signer.kid,
        "typ": "JWT",
    }
    assert signer.sign(claims) == token
    with pytest.raises(ReceiptInvalidError):
        verify_receipt(token, ReceiptSigner.generate())


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
