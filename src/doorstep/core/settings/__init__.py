"""One typed settings object for the whole process.

Settings are read from the environment (prefix ``DOORSTEP_``) by :func:`load_settings`,
never at import time, so tests and commands build exactly the settings they mean.
Secrets are :class:`pydantic.SecretStr` and are only revealed where they are used.

:class:`Settings` holds the process-wide fields here and inherits each area's
fields from its own module (``accounts``, ``notify``, ``retention``, ``devices``, ``fleet``,
``requests``, ``incidents``, ``policies``, ``metrics``), so one area's knobs are read in one
place and every field is still one ``DOORSTEP_*`` variable.
"""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import platformdirs
from pydantic import (
    Field,
    IPvAnyNetwork,
    SecretStr,
    field_validator,
    model_validator,
)
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from doorstep.core.errors import ConfigurationError
from doorstep.core.settings.accounts import AccountSettings, OidcProviderSettings
from doorstep.core.settings.devices import DeviceSettings
from doorstep.core.settings.diagnostics import DiagnosticsSettings
from doorstep.core.settings.fleet import FleetSettings
from doorstep.core.settings.incidents import IncidentSettings
from doorstep.core.settings.metrics import MetricsSettings
from doorstep.core.settings.notify import NotifySettings
from doorstep.core.settings.policies import PolicySettings
from doorstep.core.settings.requests import RequestSettings
from doorstep.core.settings.retention import RetentionSettings
from doorstep.core.settings.systems import SystemSettings
from doorstep.core.settings.usp_identity import UspIdentitySettings
from doorstep.core.settings.usp_paths import UspPathSettings
from doorstep.core.settings.usp_presence import UspPresenceSettings
from doorstep.core.settings.wipe import WipeSettings

__all__ = [
    "DEVELOPMENT_SECRET",
    "Environment",
    "LogFormat",
    "OidcProviderSettings",
    "Settings",
    "load_settings",
]

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


class Settings(
    NotifySettings,
    AccountSettings,
    RetentionSettings,
    DeviceSettings,
    UspPathSettings,
    RequestSettings,
    IncidentSettings,
    PolicySettings,
    UspIdentitySettings,
    UspPresenceSettings,
    SystemSettings,
    FleetSettings,
    DiagnosticsSettings,
    WipeSettings,
    MetricsSettings,
    BaseSettings,
):
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
        default=Path(__file__).resolve().parents[2] / "policy_pack" / "default",
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
    worker_poll_seconds: float = Field(
        default=5.0,
        gt=0,
        le=3600,
        description="How often an idle worker looks for jobs it was not told of; new jobs wake "
        "it at once (LISTEN/NOTIFY), so this only bounds a missed notification.",
    )
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
