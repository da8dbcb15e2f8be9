"""Settings of the notification outbox and its adapters (decision 0010)."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field, SecretStr


class NotifySettings(BaseModel):
    """E-mail, SMS and push delivery, and how long message contents are kept."""

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
