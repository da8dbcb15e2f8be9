"""Request and response bodies of the diagnostics API (OpenAPI is generated from these).

A request refuses unknown fields (``extra_forbidden``), a kind Doorstep does not run
and a host that is not a name or an address (422, nothing stored); a ping or trace
route needs its host, a speed test takes none (the operator's servers are used).
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from doorstep.devices.fleet.diagnostics_results import HOST_PATTERN, MAX_HOST
from doorstep.devices.fleet.diagnostics_views import RunView

Kind = Literal["ping", "traceroute", "download", "upload"]


class DiagnosticRequest(BaseModel):
    """Run a diagnostic on my device."""

    model_config = ConfigDict(extra="forbid")

    kind: Kind = Field(
        description="ping or traceroute (to a host), download or upload (a speed test "
        "against the operator's servers)."
    )
    host: str | None = Field(
        default=None,
        min_length=1,
        max_length=MAX_HOST,
        pattern=HOST_PATTERN,
        description="The host to ping or trace: a name or an address. Your input: kept with "
        "the result (seven days in the reference pack), or cleared at once when the "
        "result is not stored.",
    )

    @model_validator(mode="after")
    def _host_fits_kind(self) -> DiagnosticRequest:
        if self.kind in ("ping", "traceroute") and self.host is None:
            raise ValueError("a ping or trace route needs a host")
        if self.kind in ("download", "upload") and self.host is not None:
            raise ValueError("a speed test takes no host")
        return self


class DiagnosticRunOut(BaseModel):
    """One diagnostic run: its state and, once it ended, its result."""

    run_id: uuid.UUID
    device_id: uuid.UUID
    kind: Kind
    state: Literal["queued", "running", "succeeded", "failed", "cancelled"]
    ground: Literal["owner", "ticket", "consent"] = Field(
        description="Why it ran: you asked (owner), support on a ticket, or support with "
        "your consent."
    )
    asked_by: Literal["subscriber", "staff"]
    host: str | None = None
    stored: bool = Field(
        description="Whether the result is kept (the policy pack decides per kind). When "
        "not, it is in this answer only if you waited for it (Prefer: wait)."
    )
    result: dict[str, Any] | None = Field(
        default=None,
        description="ping: status, sent, received, average_ms, minimum_ms, maximum_ms; "
        "traceroute: status, response_time_ms, hops; download/upload: status, bytes, "
        "seconds, mbps, connect_ms. status is the device's own word (Complete, "
        "Error_CannotResolveHostName …).",
    )
    reason: str | None = Field(default=None, description="Why it failed (a reason code).")
    usp_code: int | None = Field(default=None, description="The device's own USP error code.")
    created_at: datetime
    finished_at: datetime | None = None

    @classmethod
    def of(cls, view: RunView) -> DiagnosticRunOut:
        """The body of ``view``."""
        return cls(
            run_id=view.id,
            device_id=view.device_id,
            kind=view.kind,
            state=view.state,
            ground=view.ground,
            asked_by=view.asked_by,
            host=view.host,
            stored=view.stored,
            result=dict(view.result) if view.result is not None else None,
            reason=view.reason,
            usp_code=view.usp_code,
            created_at=view.created_at,
            finished_at=view.finished_at,
        )


class DiagnosticRunList(BaseModel):
    """My newest runs on the device (at most 20), newest first."""

    runs: list[DiagnosticRunOut]
