"""Response bodies of the subscriber's transfer consents (:mod:`.transfers`, decision 0035).

Kept beside :mod:`.consent_schemas`: a transfer consent is not a purpose of the
consent ledger but a mechanism of the transfer gate, with its own vocabulary
(processors, countries, channels).
"""

from __future__ import annotations

import uuid
from typing import Literal

from pydantic import BaseModel, Field

TransferState = Literal["granted", "not_granted"]


class TransferCarrierOut(BaseModel):
    """A processor abroad that carries one of my channels, and where I stand."""

    recipient: str = Field(description="The processor's key in the policy pack.")
    channel: Literal["email", "sms", "push"] = Field(description="The messages it carries.")
    country: str = Field(description="Where it is (ISO 3166-1 alpha-2).", examples=["CN"])
    country_name: str = Field(description="The country's name in my language.")
    description: str = Field(description="How the policy pack describes the processor.")
    needs_consent: bool = Field(
        description="Whether my messages on this channel go only with my consent: no other "
        "transfer mechanism covers it, or only de-identified data could leave without it."
    )
    possible: bool = Field(
        description="False when the policy pack lets no address leave at all (messages on "
        "this channel cannot reach me, with or without my consent)."
    )
    state: TransferState
    consent_id: uuid.UUID | None = Field(
        default=None, description="The consent in force (a transfer mechanism's id)."
    )
    reference: str | None = Field(
        default=None, description="Where it was given: `signup`, `app` or `web`."
    )
    delivers: bool = Field(description="Whether my messages on this channel go now.")


class TransferList(BaseModel):
    """My home country and every processor abroad that carries my messages."""

    home: str = Field(description="My home country (ISO 3166-1 alpha-2), where data is collected.")
    language: str
    carriers: list[TransferCarrierOut]


class TransferDecisionOut(BaseModel):
    """The state after a grant or a withdrawal."""

    carrier: TransferCarrierOut
    changed: bool = Field(
        description="False when nothing was recorded: the consent was already in force "
        "(grant) or none was (withdrawal)."
    )
    now_stopped: Literal["email", "sms", "push"] | None = Field(
        default=None,
        description="After a withdrawal: the channel whose messages stop from the next one "
        "on, sign-in and verification codes included (None when they still go).",
    )
