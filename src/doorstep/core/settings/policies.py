"""Settings of policy versions and the notices of major changes (decision 0019, 0023)."""

from __future__ import annotations

from pydantic import BaseModel, Field


class PolicySettings(BaseModel):
    """How long before a major change takes effect subscribers must hear of it."""

    policy_notice_days: int = Field(
        default=30,
        ge=0,
        description="Least days between publishing a major version (its notices) and its "
        "effective date (decision 0019: neither policy names one; 30 matches their reply time).",
    )
    policy_notice_batch: int = Field(
        default=200,
        ge=1,
        le=10_000,
        description="Subscribers notified per transaction by the notice run of a major version.",
    )
