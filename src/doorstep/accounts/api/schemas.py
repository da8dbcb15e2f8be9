"""Request and response bodies of the accounts API (OpenAPI is generated from these).

Requests refuse unknown fields (``extra_forbidden``), so a field the policy does
not allow (CPE-I.i.1.a) is named in the problem, never silently stored.
Passwords and codes are plain strings here and go no further than the service
that hashes or compares them.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class _Request(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=False)


class SignUpRequest(_Request):
    """Sign-up: e-mail and mobile (both under the CPE policy), password, age gate."""

    email: str | None = Field(default=None, max_length=320, examples=["ann@example.org"])
    phone: str | None = Field(
        default=None, max_length=32, description="Mobile number, +<country><number>."
    )
    password: str = Field(max_length=1024)
    date_of_birth: date | None = Field(
        default=None, description="Answers the age gate; not stored."
    )
    age: int | None = Field(default=None, description="Instead of date_of_birth; not stored.")
    guardian_email: str | None = Field(
        default=None, max_length=320, description="Required for a child: the guardian's address."
    )
    language: str | None = Field(
        default=None,
        max_length=16,
        examples=["de"],
        description="The language e-mails are written in: en (default) or de.",
    )
    policy_version: str | None = Field(
        default=None,
        max_length=64,
        examples=["1.1"],
        description="The privacy policy version shown and acknowledged (the id of GET "
        "/api/v1/policy); required: without the version in force the sign-up is refused "
        "(rule policy_not_acknowledged).",
    )
    country: str | None = Field(
        default=None,
        max_length=8,
        examples=["DE"],
        description="The country where the app is used (ISO 3166-1 alpha-2): the subscriber's "
        "home country, where its data is collected (decision 0031). Without it, the mobile "
        "number's country; without one, the operator's.",
    )
    transfer_consent: bool = Field(
        default=False,
        description="I agree to my messages (the codes of this sign-up included) being carried "
        "by processors in another country than my home one (decision 0035). Needed only when "
        "the policy requires it: without it the sign-up is refused with a 422 "
        "`transfer-consent-required` whose `destinations` name each processor abroad "
        "(country, recipient, description) and nothing is stored; given, it is recorded "
        "where needed and can be withdrawn under /me/transfers.",
    )


class Accepted(BaseModel):
    """The same answer whatever happened (nothing reveals whether an account exists)."""

    status: Literal["verification_sent", "accepted"]


class VerifyRequest(_Request):
    """Prove an e-mail address or mobile number with the code sent to it."""

    identifier: str = Field(max_length=320, description="The e-mail address or mobile number.")
    code: str = Field(min_length=1, max_length=16)


class ResendRequest(_Request):
    """Ask for a new code."""

    identifier: str = Field(max_length=320)


class AccountStatusOut(BaseModel):
    """An account's status after a step."""

    status: Literal["pending", "awaiting_guardian", "active", "deregistered"]


class SignInRequest(_Request):
    """Password sign-in."""

    identifier: str = Field(max_length=320, description="E-mail address or mobile number.")
    password: str = Field(max_length=1024)


class RefreshRequest(_Request):
    """Rotate a refresh token."""

    refresh_token: str = Field(max_length=256)


class TokensOut(BaseModel):
    """A session's tokens (only here, never again)."""

    token_type: Literal["Bearer"] = "Bearer"  # noqa: S105  (the scheme name)
    access_token: str
    expires_at: datetime
    refresh_token: str
    refresh_expires_at: datetime
    session_id: uuid.UUID


class PasswordChangeRequest(_Request):
    """Change the password (the one field edited directly, CPE-V.2)."""

    current_password: str = Field(max_length=1024)
    new_password: str = Field(max_length=1024)


class ResetRequest(_Request):
    """Ask for a password-reset code."""

    identifier: str = Field(max_length=320)


class ResetConfirmRequest(_Request):
    """Set a new password with a reset code."""

    identifier: str = Field(max_length=320)
    code: str = Field(min_length=1, max_length=16)
    new_password: str = Field(max_length=1024)


class DeregisterRequest(_Request):
    """Self-service deregistration, confirmed with the password."""

    password: str = Field(max_length=1024)


class DeregisteredOut(BaseModel):
    """Deregistration is final when this answer arrives; erasure of the data follows."""

    status: Literal["completed"] = "completed"
    deregistered_at: datetime
    erasure: Literal["scheduled"] = "scheduled"


class ProviderOut(BaseModel):
    """A linked provider."""

    provider: str
    linked_at: datetime
    share_with: list[str]


class ProfileOut(BaseModel):
    """The optional profile (avatar as base64)."""

    nickname: str | None
    avatar_base64: str | None
    avatar_type: str | None
    date_of_birth: date | None


class AccountOut(BaseModel):
    """The subscriber's own account data (CPE-V.1.a)."""

    id: uuid.UUID
    status: str
    email: str | None
    phone: str | None
    email_verified: bool
    phone_verified: bool
    child: bool
    created_at: datetime
    providers: list[ProviderOut]
    profile: ProfileOut | None = Field(description="None until the profile is consented to.")
    language: str = Field(description="The language e-mails and notices are written in.")


class LanguageRequest(_Request):
    """The language the subscriber reads from now on."""

    language: str = Field(
        min_length=2, max_length=16, description="One of the languages Doorstep speaks: en or de."
    )


class LanguageOut(BaseModel):
    """The language in force after the change."""

    language: str


class ProfileRequest(_Request):
    """The optional profile; each field may be left out."""

    nickname: str | None = Field(default=None, max_length=80)
    avatar_base64: str | None = Field(default=None, max_length=90_000)
    date_of_birth: date | None = None


class ConsentOut(BaseModel):
    """A consent ledger event (its id is the receipt id)."""

    consent_event: uuid.UUID
    purpose: str
    action: str


class GuardianNoticeOut(BaseModel):
    """What a guardian reads before deciding (no data about the child)."""

    notice: str
    expires_at: datetime


class GuardianDecisionRequest(_Request):
    """The guardian's answer."""

    token: str = Field(max_length=2048)
    decision: Literal["grant", "refuse"]


class GuardianDecisionOut(BaseModel):
    """The recorded answer."""

    decision: Literal["grant", "refuse"]
    consent_event: uuid.UUID


class OidcStartRequest(_Request):
    """Start a third-party sign-in (``login``) or link (``link``, signed in)."""

    intent: Literal["login", "link"] = "login"
    share_with: list[str] = Field(
        default_factory=list, description="Doorstep services that may use the provider's token."
    )


class OidcStartOut(BaseModel):
    """Where to send the browser."""

    authorization_url: str


class OidcResultOut(BaseModel):
    """How a third-party flow ended; tokens only for a sign-in."""

    outcome: Literal["linked", "signed_in", "cancelled"]
    tokens: TokensOut | None = None
