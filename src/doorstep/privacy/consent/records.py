"""The ISO/IEC TS 27560 consent record of one ledger event, beside its Kantara receipt.

ISO/IEC TS 27560:2023 ("Consent record information structure") describes what a
consent record holds; the Kantara Consent Receipt v1.1 (:mod:`.receipts`) is the
receipt format it builds on.  :func:`record_of` maps the receipt's claims onto
the record's groups, so the two can never disagree:

* header — ``schema_version``, ``record_id`` (the ledger event id, also the
  receipt id), ``pii_principal_id`` (the pseudonymous subject id);
* ``pii_controllers`` — name, contact, address, e-mail, the policy address;
* ``processing`` — each purpose with its key, description, PII categories,
  legal basis, recipients, whether sensitive PII is involved, and the
  jurisdiction;
* ``notice`` — policy version and address, language, hash of the text shown;
* ``event`` — ``event_type`` (given, refused, withdrawn), ``event_time``,
  ``event_by`` (the PII principal), ``collection_method`` (the channel);
* ``state`` — what the consent is after this event (active, refused, withdrawn).

:func:`issue_record` signs it with the receipt key (compact JWS, the same key
the JWKS at ``/.well-known/jwks.json`` publishes), so anyone can check it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from doorstep.privacy.consent.signing import ReceiptSigner

SCHEMA_VERSION = "ISO/IEC TS 27560:2023"
_STATES = {"given": "active", "refused": "refused", "withdrawn": "withdrawn"}


def record_of(claims: Mapping[str, Any]) -> dict[str, Any]:
    """The ISO/IEC TS 27560 record of a receipt's claims (pure)."""
    event = claims["consentEvent"]
    notice = claims["notice"]
    return {
        "schema_version": SCHEMA_VERSION,
        "record_id": claims["consentReceiptID"],
        "pii_principal_id": claims["piiPrincipalId"],
        "pii_controllers": [
            {
                "name": item["piiController"],
                "contact": item["contact"],
                "address": item["address"],
                "email": item["email"],
                "url": item["piiControllerUrl"],
            }
            for item in claims["piiControllers"]
        ],
        "processing": [
            {
                "purpose_id": purpose["purposeKey"],
                "purpose": purpose["purpose"],
                "purpose_category": purpose["purposeCategory"],
                "pii_categories": purpose["piiCategory"],
                "legal_basis": purpose["legalBasis"],
                "consent_type": purpose["consentType"].lower(),
                "recipients": [name for name in purpose["thirdPartyName"].split(", ") if name],
                "termination": purpose["termination"],
                "sensitive_pii": claims["sensitive"],
                "sensitive_pii_categories": claims["spiCat"],
                "jurisdiction": claims["jurisdiction"],
            }
            for service in claims["services"]
            for purpose in service["purposes"]
        ],
        "notice": {
            "policy_version": notice["policyVersion"],
            "policy_url": claims["policyUrl"],
            "language": claims["language"],
            "hash_algorithm": notice["hashAlgorithm"],
            "hash": notice["hash"],
        },
        "event": {
            "event_type": event["type"],
            "event_time": event["time"],
            "event_by": "pii_principal",
            "collection_method": event["channel"],
        },
        "state": _STATES[event["type"]],
    }


def issue_record(claims: Mapping[str, Any], signer: ReceiptSigner) -> tuple[dict[str, Any], str]:
    """The record of ``claims`` and its compact JWS signed with the receipt key."""
    record = record_of(claims)
    return record, signer.sign(record)
