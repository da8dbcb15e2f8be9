"""One typed settings object for the whole process.

Settings are read from the environment (prefix ``DOORSTEP_``) by :func:`load_settings`,
never at import time, so tests and commands build exactly the settings they mean.
Secrets are :class:`pydantic.SecretStr` and are only revealed where they are used.
"""

from __future__ import annotations

from datetime import date
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any, Literal

import platformdirs
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    IPvAnyNetwork,
    SecretStr,
    field_validator,
    model_validator,
)
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from doorstep.core.errors import ConfigurationError

#: The secret every fresh checkout has; refused outside development mode.
DEVELOPMENT_SECRET = "doorstep-development-secret-not-for-production"  # noqa: S105


class Environment(StrEnum):
    """Where the process runs; decides defaults and how strict start-up is."""

    DEVELOPMENT = "development"
    TEST = "test"
    PRODUCTION = "production"


class LogFormat(StrEnum):
    """``json`` is one JSON object a line (production); ``console`` is for people."""

    JSON = "json"
    CONSOLE = "console"


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


class Settings(BaseSettings):
    """Every knob of a Doorstep process.  Each field documents itself."""

    model_config = SettingsConfigDict(env_prefix="DOORSTEP_", extra="ignore", frozen=True)

    env: Environment = Field(
        default=Environment.DEVELOPMENT,
        description="development, test or production; production refuses default secrets.",
    )
    database_url: SecretStr | None = Field(
        default=None,
        description="PostgreSQL URL (>= 15). Unset: an embedded server runs in data_dir.",
    )
    data_dir: Path = Field(
        default_factory=lambda: platformdirs.user_data_path("doorstep"),
        description="Where the embedded database, keyring and demo state live.",
    )
    secret_key: SecretStr = Field(
        default=SecretStr(DEVELOPMENT_SECRET),
        description="Signs sessions and receipts. Must be set outside development.",
    )
    policy_pack: Path = Field(
        default=Path(__file__).resolve().parents[1] / "policy_pack" / "default",
        description="The policy pack in force (a folder with datamap.yaml), read once at start-up "
        "by every process; default: the reference pack shipped in doorstep/policy_pack/default.",
    )
    host: str = Field(default="127.0.0.1", description="Address `serve` and `demo` bind to.")
    port: int = Field(default=8000, ge=0, le=65535, description="Port `serve` and `demo` use.")
    trusted_proxies: Annotated[tuple[IPvAnyNetwork, ...], NoDecode] = Field(
        default=(),
        description="Addresses or CIDR networks of the reverse proxies whose X-Forwarded-For and "
        "X-Forwarded-Proto are believed (comma-separated, e.g. 10.0.0.0/8,192.0.2.7). Empty "
        "(the default): none; the client address (rate limits, audit) is the TCP peer's.",
    )
    log_level: str = Field(default="INFO", description="Root log level.")
    log_format: LogFormat | None = Field(
        default=None, description="json or console; default: json in production, else console."
    )
    worker_concurrency: int = Field(default=4, ge=1, le=256, description="Jobs run at once.")
    worker_heartbeat_seconds: float = Field(
        default=10.0, gt=0, le=300, description="How often a worker says it is alive."
    )
    worker_stalled_after_seconds: float = Field(
        default=30.0,
        gt=0,
        le=3600,
        description="A worker silent this long is dead: its running jobs go back in the queue.",
    )
    job_retention_days: int = Field(
        default=14, ge=0, description="Finished jobs older than this are pruned; 0 keeps them."
    )
    migration_lock_timeout_ms: int = Field(
        default=5_000, ge=0, description="lock_timeout for each migration statement."
    )
    db_pool_size: int = Field(default=10, ge=1, description="Connections per process.")
    keyring_path: Path | None = Field(
        default=None,
        description="The local keyring file (0600); default: <data_dir>/keyring.json.",
    )
    kek_retirement_days: int = Field(
        default=35,
        ge=0,
        description="Keep a superseded key-encryption key this long; at least backup retention.",
    )
    receipt_key_file: Path | None = Field(
        default=None,
        description="Ed25519 key (PEM, 0600) signing consent receipts; default in data_dir.",
    )
    key_cache_ttl_seconds: int = Field(
        default=60, ge=0, description="How long an unwrapped data key stays cached in a process."
    )
    # -- notifications (doorstep.notify) ------------------------------------------------------
    mail_backend: Literal["smtp", "console"] = Field(
        default="console", description="smtp delivers e-mail; console logs only ids (development)."
    )
    mail_from: str | None = Field(
        default=None, description="From address of e-mail; default: the policy pack's controller."
    )
    smtp_host: str = Field(
        default="127.0.0.1", description="SMTP server (a loopback relay or TLS)."
    )
    smtp_port: int = Field(
        default=25, ge=1, le=65535, description="SMTP port (587 STARTTLS, 465 TLS)."
    )
    smtp_security: Literal["none", "starttls", "tls"] = Field(
        default="none", description="none (loopback only outside development), starttls or tls."
    )
    smtp_username: str | None = Field(default=None, description="SMTP AUTH user; unset: no AUTH.")
    smtp_password: SecretStr | None = Field(default=None, description="SMTP AUTH password.")
    smtp_ca_file: Path | None = Field(
        default=None, description="PEM CA bundle to verify the SMTP server; default: system CAs."
    )
    smtp_timeout_seconds: float = Field(
        default=10.0, gt=0, description="Connect and command timeout of one SMTP delivery."
    )
    sms_backend: Literal["console"] = Field(
        default="console", description="SMS adapter; console logs only ids (no provider yet)."
    )
    push_backend: Literal["console"] = Field(
        default="console", description="Push adapter; console logs only ids (no provider yet)."
    )
    notify_purge_after_seconds: int = Field(
        default=0, ge=0, description="Blank a sent message's content this long after; 0: at once."
    )
    notify_failed_keep_hours: int = Field(
        default=72, ge=0, description="Keep a failed message's content for `notify retry`."
    )

    # -- accounts (decision 0011) ------------------------------------------------------------
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
    # -- retention (decision 0012, docs/retention.md) ----------------------------------------
    retention_periods: dict[str, str] = Field(
        default_factory=dict,
        description='Shorter periods per retention rule, ISO 8601 ({"outbox_messages": '
        '"P7D"}); never longer than the policy pack\'s (start-up refuses).',
    )
    retention_batch_size: int = Field(
        default=10_000, ge=1, le=100_000, description="Rows a retention sweep handles per commit."
    )
    audit_retention_days: int | None = Field(
        default=None,
        ge=0,
        description="Audit-trail period in days; unset: the pack's audit_trail; 0 keeps it.",
    )
    device_offline_after_seconds: int = Field(
        default=0,
        ge=0,
        description="A device is offline once silent this long; its two years (device_registration)"
        " start then. 0: at its last contact (X-15).",
    )
    # -- devices (decision 0013, docs/devices.md) --------------------------------------------
    device_silence_timeout_seconds: int = Field(
        default=900,
        ge=60,
        description="A device that sends nothing for this long is marked offline (X-15).",
    )
    device_claim_max_failures: int = Field(
        default=5, ge=1, description="Wrong device codes per subscriber before a lockout."
    )
    device_claim_device_max_failures: int = Field(
        default=10,
        ge=1,
        description="Wrong scanned codes for one device, from anyone, before the device is "
        "locked; its lock refuses only claimants who already failed, never a first attempt.",
    )
    device_claim_lockout_seconds: int = Field(
        default=900, ge=1, description="Device-code lockout, and the window failures count in."
    )
    device_request_timeout_seconds: float = Field(
        default=15.0, gt=0, description="How long an app request waits for the device's answer."
    )
    device_scan_timeout_seconds: float = Field(
        default=30.0, gt=0, description="How long a Wi-Fi scan waits for the device's results."
    )
    device_gateway_product_classes: tuple[str, ...] = Field(
        default=("gateway", "homegateway", "home-gateway", "hgw"),
        description="DeviceInfo.ProductClass values (any case) of home gateways; others: router.",
    )
    device_wan_ip_interface: str = Field(
        default="Device.IP.Interface.1.", description="TR-181 object of the WAN IP interface."
    )
    device_wan_ethernet_interface: str = Field(
        default="Device.Ethernet.Interface.1.", description="TR-181 object of the WAN port."
    )
    device_serve_mqtt: bool = Field(
        default=False, description="serve also joins the MQTT broker, to reach MQTT devices."
    )
    # -- data-subject requests (decision 0014) ------------------------------------------------
    requests_jurisdiction: str = Field(
        default="default",
        description="Deadline rule of requests that name none (a key of requests_periods).",
    )
    requests_periods: dict[str, str] = Field(
        default_factory=lambda: {"default": "P30D", "gdpr": "P1M"},
        description="Answer period per jurisdiction, ISO 8601 days or calendar months (X-9).",
    )
    requests_extensions: dict[str, str] = Field(
        default_factory=lambda: {"gdpr": "P2M"},
        description="Longest extension per jurisdiction (absent: none may be granted).",
    )
    requests_reminder_days: int = Field(
        default=7, ge=0, description="Days before the deadline the privacy desk is reminded."
    )
    requests_repeat_threshold: int = Field(
        default=2, ge=1, description="Same-type requests per window that are free (CPE-V.6.c)."
    )
    requests_repeat_window_days: int = Field(
        default=365, ge=1, description="Window in which repeated requests are counted."
    )
    staff_session_hours: int = Field(
        default=8, ge=1, le=24, description="Hours a staff console session lasts."
    )
    requests_automatic: tuple[str, ...] = Field(
        default=("access", "portability"),
        description="Request kinds carried out as soon as identity is proven, without review "
        "(the others wait for the privacy desk's approval).",
    )
    requests_export_days: int = Field(
        default=7,
        ge=1,
        description="Days a prepared export can be downloaded (at most the pack's "
        "export_download rule).",
    )

    @field_validator("trusted_proxies", mode="before")
    @classmethod
    def _split_proxies(cls, value: object) -> object:
        """The environment gives one comma-separated string; code may pass a sequence."""
        if isinstance(value, str):
            return tuple(item.strip() for item in value.split(",") if item.strip())
        return value

    @model_validator(mode="after")
    def _stalled_after_heartbeats(self) -> Settings:
        if self.worker_stalled_after_seconds < 2 * self.worker_heartbeat_seconds:
            raise ValueError(
                "worker_stalled_after_seconds must be at least twice worker_heartbeat_seconds, "
                "or live workers would be taken for dead"
            )
        return self

    @model_validator(mode="after")
    def _refuse_default_secret(self) -> Settings:
        if self.env is Environment.PRODUCTION:
            if self.secret_key.get_secret_value() == DEVELOPMENT_SECRET:
                raise ValueError("DOORSTEP_SECRET_KEY must be set to a secret of your own")
            if len(self.secret_key.get_secret_value()) < 32:
                raise ValueError("DOORSTEP_SECRET_KEY must be at least 32 characters")
            if self.database_url is None:
                raise ValueError("DOORSTEP_DATABASE_URL must be set in production")
        return self

    @property
    def effective_log_format(self) -> LogFormat:
        """The log format in force: the explicit one, else by environment."""
        if self.log_format is not None:
            return self.log_format
        return LogFormat.JSON if self.env is Environment.PRODUCTION else LogFormat.CONSOLE

    @property
    def uses_embedded_database(self) -> bool:
        """True when no external database is configured."""
        return self.database_url is None


def load_settings(**overrides: Any) -> Settings:
    """Build settings from the environment, with keyword overrides on top.

    Raises :class:`ConfigurationError` with a message that names the bad setting
    (never its value) when the environment is invalid.
    """
    from pydantic import ValidationError

    try:
        return Settings(**overrides)
    except ValidationError as exc:
        problems = []
        for error in exc.errors(include_input=False, include_url=False):
            where = ".".join(str(part) for part in error["loc"]) or "settings"
            problems.append(f"{where}: {error['msg']}")
        raise ConfigurationError("invalid settings: " + "; ".join(problems)) from None
