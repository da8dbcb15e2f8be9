"""Consent receipts: what a subject agreed to, signed so they can prove it.

A receipt is a compact JWS (EdDSA / Ed25519) over the fields of the Kantara
Initiative Consent Receipt v1.1 that ISO/IEC TS 27560 builds on: version,
jurisdiction, consent timestamp, collection method, receipt id, language,
PII principal id (the pseudonymous subject id), controllers with contact,
policy URL, services with purposes (consent type, PI categories, termination,
third-party disclosure) and sensitive categories.  Doorstep adds the decision
itself (``consentEvent``) and the notice it was made on (``notice``: policy
version and the SHA-256 of the text shown).

The receipt id is the ledger event id, and the ledger is append-only, so the
operator can always match a receipt against its record.  Anyone holding the
published JWK (:meth:`ReceiptSigner.jwks`) can run :func:`verify_receipt`.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any

import sqlalchemy as sa
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from joserfc.errors import JoseError
from sqlalchemy.orm import Session

from doorstep.audit.entries import AuditEntry
from doorstep.core.errors import ConfigurationError, InvalidInputError
from doorstep.privacy.consent.models import ConsentAction
from doorstep.privacy.consent.services import LEDGER_PURPOSE, ConsentRecord, get_event
from doorstep.privacy.consent.signing import (
    ReceiptSigner,
    key_from_jwk,
    unverified_header,
    verified_claims,
)
from doorstep.privacy.consent.terms import ConsentTerms
from doorstep.privacy.datamap.pack import PolicyPack
from doorstep.privacy.datamap.registry import personal_elements

RECEIPT_VERSION = "KI-CR-v1.1.0"
SERVICE_NAME = "Doorstep home router cloud"
#: Categories that are sensitive personal information in at least one jurisdiction
#: we serve (precise location is sensitive under China's PIPL Art. 28).
SENSITIVE_CATEGORIES = frozenset(
    {"user.location.precise", "user.authorization.biometric", "user.content.self_image"}
)
REQUIRED_CLAIMS = (
    "version",
    "jurisdiction",
    "consentTimestamp",
    "collectionMethod",
    "consentReceiptID",
    "piiPrincipalId",
    "piiControllers",
    "policyUrl",
    "services",
    "consentEvent",
    "notice",
)
_EVENT_TYPES = {
    ConsentAction.GRANT: "given",
    ConsentAction.REFUSE: "refused",
    ConsentAction.WITHDRAW: "withdrawn",
}


class ReceiptInvalidError(InvalidInputError):
    """The receipt is not one we signed, or it was changed after signing."""

    code = "receipt-invalid"
    title = "Receipt invalid"


def _categories(metadata: sa.MetaData, terms: ConsentTerms, purpose: str) -> list[str]:
    found = set(terms.purposes[purpose].categories) if purpose in terms.purposes else set()
    for _element, declaration in personal_elements(metadata):
        if purpose in declaration.purposes:
            found.add(declaration.category)
    return sorted(found)


def _recipients(metadata: sa.MetaData, purpose: str) -> list[str]:
    found: set[str] = set()
    for _element, declaration in personal_elements(metadata):
        if purpose in declaration.purposes:
            found.update(declaration.recipients)
    return sorted(found)


def build_claims(
    record: ConsentRecord,
    *,
    pack: PolicyPack,
    terms: ConsentTerms,
    metadata: sa.MetaData,
) -> dict[str, Any]:
    """The receipt fields of one ledger event (pure: no I/O, no signing)."""
    policy = terms.require_policy()
    controller = pack.controller
    if controller is None:
        raise ConfigurationError("policy pack: receipts need a 'controller' in datamap.yaml")
    purpose = pack.purposes[record.purpose]
    categories = _categories(metadata, terms, record.purpose)
    recipients = _recipients(metadata, record.purpose)
    sensitive = sorted(SENSITIVE_CATEGORIES.intersection(categories))
    contact = controller.dpo.name if controller.dpo else controller.name
    contact_email = controller.dpo.email if controller.dpo else controller.email
    return {
        "version": RECEIPT_VERSION,
        "jurisdiction": policy.jurisdiction,
        "consentTimestamp": int(record.occurred_at.timestamp()),
        "collectionMethod": record.channel.value,
        "consentReceiptID": str(record.id),
        "language": policy.language,
        "piiPrincipalId": str(record.subject_id),
        "piiControllers": [
            {
                "piiController": controller.name,
                "onBehalf": False,
                "contact": contact,
                "address": controller.address,
                "email": contact_email,
                "phone": "",
                "piiControllerUrl": policy.url,
            }
        ],
        "policyUrl": policy.url,
        "services": [
            {
                "service": SERVICE_NAME,
                "purposes": [
                    {
                        "purpose": purpose.description,
                        "purposeKey": record.purpose,
                        "purposeCategory": [purpose.data_use],
                        "consentType": "EXPLICIT",
                        "legalBasis": "consent",
                        "piiCategory": categories,
                        "primaryPurpose": False,
                        "termination": (
                            "Until withdrawn. Withdraw at any time, on the channel the consent "
                            "was given in or any other; withdrawal stops processing from then "
                            "on and leaves earlier processing as it was."
                        ),
                        "thirdPartyDisclosure": bool(recipients),
                        "thirdPartyName": ", ".join(recipients),
                    }
                ],
            }
        ],
        "sensitive": bool(sensitive),
        "spiCat": sensitive,
        "consentEvent": {
            "type": _EVENT_TYPES[record.action],
            "time": record.occurred_at.isoformat(),
            "channel": record.channel.value,
        },
        "notice": {
            "policyVersion": record.policy_version,
            "hashAlgorithm": "sha-256",
            "hash": record.notice_hash,
        },
    }


def issue_receipt(
    session: Session,
    event_id: uuid.UUID,
    *,
    signer: ReceiptSigner,
    actor: str,
    pack: PolicyPack,
    terms: ConsentTerms,
    metadata: sa.MetaData | None = None,
) -> str:
    """Sign the receipt of ledger event ``event_id``; the issue is audited.

    ``pack`` and ``terms`` are those in force (``Services.pack``, ``Services.terms``):
    the receipt names the pack's controller and policy.  ``metadata`` defaults to
    the whole schema.
    """
    if metadata is None:
        from doorstep.core.models import schema_metadata

        schema = schema_metadata()

        metadata = schema
    record = get_event(session, event_id)
    token = signer.sign(build_claims(record, pack=pack, terms=terms, metadata=metadata))
    AuditEntry(
        action="consent.receipt_issued",
        actor=actor,
        subject_id=record.subject_id,
        purpose=LEDGER_PURPOSE,
        details={"consent_event": str(record.id), "kid": signer.kid},
    ).write(session)
    return token


def verify_receipt(
    token: str, key: Mapping[str, Any] | ReceiptSigner | Ed25519PublicKey
) -> dict[str, Any]:
    """The claims of a receipt whose signature and fields check out.

    ``key`` is the published JWK (what a subject has), a signer, or a public key.
    Raises :class:`ReceiptInvalidError` for a bad signature, a changed payload,
    another key, another algorithm or missing receipt fields.
    """
    if isinstance(key, ReceiptSigner):
        public, kid = key.public_key, key.kid
    elif isinstance(key, Ed25519PublicKey):
        public, kid = key, None
    else:
        try:
            public, kid = key_from_jwk(key), key.get("kid")
        except ValueError:
            raise ReceiptInvalidError("the key is not a public Ed25519 JWK") from None
    try:
        header = unverified_header(token)
        if kid is not None and header.get("kid") not in (None, kid):
            raise ReceiptInvalidError("the receipt was signed with another key")
        claims = verified_claims(token, public)
    except JoseError:
        raise ReceiptInvalidError("the receipt's signature does not verify") from None
    missing = [name for name in REQUIRED_CLAIMS if name not in claims]
    if missing:
        raise ReceiptInvalidError("the receipt lacks required fields", missing=missing)
    return claims
