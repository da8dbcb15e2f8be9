"""Request and response bodies of the app's consent API (:mod:`.consents`).

Kept beside :mod:`.schemas` rather than in it: the consent API is one concept
with its own vocabulary (notices, decisions, receipts).
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

State = Literal["not_asked", "granted", "refused", "withdrawn"]


class ConsentGrantRequest(BaseModel):
    """A grant names the notice the app showed, by the SHA-256 the list handed out."""

    model_config = ConfigDict(extra="forbid")

    notice_hash: str = Field(
        pattern=r"^[0-9a-f]{64}$",
        description=(
            "SHA-256 (hex) of the notice text shown, exactly as GET /me/consents gave it "
            "(`notice.hash`): the acknowledgement that the subscriber read it."
        ),
        examples=["9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"],
    )


class ConsentPolicyOut(BaseModel):
    """The policy consents are given under (what receipts name)."""

    version: str
    url: str
    jurisdiction: str


class ConsentNoticeOut(BaseModel):
    """What the app shows before asking, and the hash a grant names."""

    language: str = Field(description="The language of the text (the pack's words in it).")
    text: str
    hash: str = Field(description="SHA-256 (hex) of `text` (UTF-8).")


class ConsentDecisionOut(BaseModel):
    """One ledger event: its id is the receipt id."""

    event_id: uuid.UUID
    state: State
    channel: str
    policy_version: str = Field(description="The policy version the decision was made under.")
    decided_at: datetime


class ConsentItem(BaseModel):
    """One consent-based purpose of the pack and where the subscriber stands."""

    purpose: str
    function: str = Field(description="What it does, in the notice's language.")
    manual_path: str = Field(description="How to do the same without it ('' when none).")
    optional: bool = Field(description="An optional function of the app (off until consented).")
    categories: list[str] = Field(description="The data categories it uses (fideslang).")
    decided_by: Literal["subscriber", "guardian"]
    state: State
    enabled: bool = Field(description="Consented and not restricted: uses are allowed now.")
    last_decision: ConsentDecisionOut | None
    notice: ConsentNoticeOut


class ConsentList(BaseModel):
    """Every consent-based purpose the subscriber decides, with notices and decisions."""

    policy: ConsentPolicyOut
    language: str = Field(description="The language the subscriber reads (account setting).")
    consents: list[ConsentItem]


class ConsentFunctionOff(BaseModel):
    """An optional function a withdrawal turned off, and how to do without it."""

    purpose: str
    function: str
    manual_path: str


class ConsentDecisionResult(BaseModel):
    """The decision recorded (or, for a repeated key, the one recorded before)."""

    purpose: str
    decision: ConsentDecisionOut
    replayed: bool = Field(description="True when this answers a repeated Idempotency-Key.")
    now_off: ConsentFunctionOff | None = Field(
        default=None, description="After a withdrawal: the function that is off from now on."
    )


class SignedConsentDocument(BaseModel):
    """A document and its compact JWS (EdDSA), verifiable with /.well-known/jwks.json."""

    jws: str
    claims: dict[str, Any]


class ConsentReceiptOut(BaseModel):
    """The receipts of one decision: Kantara Consent Receipt 1.1 and ISO/IEC TS 27560."""

    event_id: uuid.UUID
    kid: str = Field(description="The signing key's id (its JWK is in /.well-known/jwks.json).")
    jwks_uri: str
    kantara: SignedConsentDocument = Field(
        description="Kantara Consent Receipt v1.1 fields, signed."
    )
    iso27560: SignedConsentDocument = Field(
        description="The ISO/IEC TS 27560 consent record, signed."
    )
