"""Settings of subscriber accounts and the support desk's calendar (decision 0011)."""

from __future__ import annotations

from datetime import date
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr


class OidcProviderSettings(BaseModel):
    """One OpenID Connect provider subscribers may sign in with (``oidc_providers``)."""

    model_config = ConfigDict(frozen=True)

    issuer: str = Field(description="The issuer URL; discovery reads <issuer>/.well-known/…")
    client_id: str = Field(description="Doorstep's client id at the provider.")
    client_secret: SecretStr = Field(description="Doorstep's client secret at the provider.")
    redirect_uri: str = Field(description="Where the provider sends the browser back.")
    scopes: tuple[str, ...] = Field(
        default=("openid",), description="Scopes asked for; openid is always included."
    )
    display_name: str = Field(default="", description="Shown to the subscriber.")


class AccountSettings(BaseModel):
    """Sign-up, sign-in, codes, children, third-party sign-in and the business-day calendar."""

    signup_identifiers: Literal["cpe", "corp"] = Field(
        default="cpe",
        description="cpe: e-mail AND mobile AND password (CPE-I.i.1.a); corp: e-mail OR mobile "
        "(CORP-1.6, X-6).",
    )
    phone_default_region: str | None = Field(
        default=None,
        description="ISO 3166 region for numbers given without +; None: only +<country> numbers.",
    )
    password_min_length: int = Field(default=12, ge=10, le=64, description="Shortest password.")
    password_argon2_time_cost: int = Field(default=2, ge=2, description="argon2id iterations.")
    password_argon2_memory_kib: int = Field(
        default=19_456, ge=19_456, description="argon2id memory in KiB (OWASP: 19 MiB or more)."
    )
    password_argon2_parallelism: int = Field(default=1, ge=1, description="argon2id lanes.")
    account_code_ttl_seconds: int = Field(
        default=900, ge=60, le=86_400, description="How long a one-time code stays valid."
    )
    account_code_max_attempts: int = Field(
        default=5, ge=1, le=20, description="Wrong guesses a one-time code survives."
    )
    account_access_token_ttl_seconds: int = Field(
        default=3_600, ge=60, description="Lifetime of a session (access) token."
    )
    account_refresh_token_ttl_days: int = Field(
        default=30,
        ge=1,
        le=30,
        description="Lifetime of a refresh token (at most the pack's 30 days).",
    )
    account_signin_max_failures: int = Field(
        default=5, ge=1, description="Failed sign-ins per identifier before a lockout."
    )
    account_lockout_seconds: int = Field(
        default=900, ge=1, description="Lockout (and failure-counting window) per identifier."
    )
    account_address_max_attempts: int = Field(
        default=30, ge=1, description="Attempts per client address in one address window."
    )
    account_address_window_seconds: int = Field(
        default=300, ge=1, description="The window the address limit counts in."
    )
    child_age_default: int = Field(
        default=14, ge=1, le=21, description="Under this age a subscriber is a child (CPE-VI.2)."
    )
    child_age_by_region: dict[str, int] = Field(
        default_factory=dict,
        description="Higher child ages per region of the mobile number (the higher age wins).",
    )
    guardian_consent_days: int = Field(
        default=7,
        ge=1,
        le=30,
        description="A child's data without guardian consent is deleted after.",
    )
    account_public_url: str = Field(
        default="http://127.0.0.1:8000", description="Base URL of links in account e-mails."
    )
    oidc_providers: dict[str, OidcProviderSettings] = Field(
        default_factory=dict, description="Third-party sign-in providers by name (JSON in env)."
    )
    oidc_http_timeout_seconds: float = Field(
        default=10.0, gt=0, description="Timeout of each call to a sign-in provider."
    )
    token_services: tuple[str, ...] = Field(
        default=(),
        description="Doorstep services a subscriber may let use a linked provider's token.",
    )
    business_timezone: str = Field(
        default="UTC", description="Time zone of the support desk's business-day calendar."
    )
    business_holidays: tuple[date, ...] = Field(
        default=(), description="Days the support desk is closed besides weekends."
    )
    manual_deregistration_working_days: int = Field(
        default=2, ge=1, le=10, description="Working days to answer a manual deregistration."
    )
