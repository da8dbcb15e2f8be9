"""Settings of retention (decision 0012, docs/retention.md)."""

from __future__ import annotations

from pydantic import BaseModel, Field


class RetentionSettings(BaseModel):
    """Shorter periods, sweep batches, the audit period and when a device counts as offline."""

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
        description="A device is offline once silent this long; its offline period"
        " (the pack's device_registration rule) starts then. 0: at its last contact (X-15).",
    )
