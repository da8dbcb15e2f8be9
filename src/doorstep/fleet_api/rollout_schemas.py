"""Bodies of the fleet API's rollouts: the plan asked for, and a rollout's progress.

A rollout is asked for as the command line asks for it (decision 0039): a name, an
image, a target (a group, or a filter and/or listed inventory ids), the canary (a count
or a share), the waves after it (listed sizes or a growth factor), the caps, the failure
threshold, a maintenance window in a time zone, a deadline per device.  The body checks
shapes and number ranges; the rules across fields (a target, not two; a count or a
share; a window with both ends) are :func:`~doorstep.devices.fleet.rollout_plan.check_spec`'s,
one 422 problem naming every field and rule, and nothing is stored.

A view carries ids, versions, states and counts (the waves' counters), never a device.
"""

from __future__ import annotations

import uuid
from datetime import datetime, time
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from doorstep.devices.fleet.rollout_plan import (
    MAX_DEADLINE_SECONDS,
    MAX_IN_FLIGHT,
    MAX_LISTED,
    MAX_WAVES,
    RolloutSpec,
    TargetFilter,
)
from doorstep.devices.fleet.rollout_views import Counts, FailureCount, RolloutView
from doorstep.fleet_api.schemas import INT_MAX, FleetFilter

RolloutStateName = Literal["draft", "running", "paused", "auto_paused", "aborted", "finished"]


def _local(value: time | None) -> time | None:
    if value is not None and value.tzinfo is not None:
        raise ValueError("a window time is local wall-clock time, without an offset")
    return value


LocalTime = Annotated[time | None, AfterValidator(_local)]
InFlight = Annotated[int, Field(ge=1, le=MAX_IN_FLIGHT)]


class FleetRolloutIn(BaseModel):
    """A firmware rollout: image, target, plan; a draft unless ``start`` is true."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)
    name: str = Field(description="A label: 1 to 80 of letters, digits, space and .:/()+#-_")
    image_id: uuid.UUID
    group_id: uuid.UUID | None = Field(default=None, description="Target: a device group.")
    filter: FleetFilter | None = Field(default=None, description="Target: a fleet filter.")
    device_ids: list[uuid.UUID] | None = Field(
        default=None, max_length=MAX_LISTED, description="Target: inventory ids (with `filter`)."
    )
    canary_count: int | None = Field(default=None, ge=0, le=INT_MAX, description="Devices.")
    canary_percent: float | None = Field(
        default=None, gt=0, le=100, description="Share of the target (default 1 %)."
    )
    wave_sizes: list[Annotated[int, Field(ge=1, le=INT_MAX)]] | None = Field(
        default=None, max_length=MAX_WAVES, description="Sizes after the canary (last repeats)."
    )
    growth: float | None = Field(
        default=None, ge=1.1, le=100, description="Each wave the previous one times this (2)."
    )
    max_in_flight: InFlight = Field(default=50, description="Devices of a wave updating at once.")
    max_per_model: InFlight | None = Field(default=None, description="Of one model at once.")
    failure_threshold: float = Field(
        default=10.0, ge=0, le=100, description="Failed share of a wave (percent) that pauses."
    )
    window_start: LocalTime = Field(default=None, description="Maintenance window, local time.")
    window_end: LocalTime = Field(default=None, description="Its end (before start: overnight).")
    time_zone: str = Field(default="UTC", max_length=64, description="IANA zone of the window.")
    deadline_seconds: int = Field(
        default=3600, ge=1, le=MAX_DEADLINE_SECONDS, description="Time one update may take."
    )
    start: bool = Field(default=False, description="Start it at once (else a draft).")

    def spec(self) -> RolloutSpec:
        """The rollout as the services take it (checked there: InvalidInputError, 422)."""
        target = None
        if self.filter is not None or self.device_ids is not None:
            found = self.filter.parsed() if self.filter is not None else FleetFilter().parsed()
            target = TargetFilter(found, tuple(self.device_ids or ()))
        return RolloutSpec(
            name=self.name,
            image_id=self.image_id,
            group_id=self.group_id,
            target=target,
            canary_count=self.canary_count,
            canary_percent=self.canary_percent,
            wave_sizes=tuple(self.wave_sizes or ()),
            growth=self.growth,
            max_in_flight=self.max_in_flight,
            max_per_model=self.max_per_model,
            failure_threshold=self.failure_threshold,
            window_start=self.window_start,
            window_end=self.window_end,
            time_zone=self.time_zone,
            deadline_seconds=self.deadline_seconds,
        )


class FleetCounts(BaseModel):
    """Devices of a wave or of the whole rollout by where they stand."""

    size: int
    pending: int = Field(description="Not queued yet.")
    in_flight: int
    succeeded: int
    failed: int
    skipped: int = Field(description="The image turned out not to apply to them.")
    cancelled: int
    percent_done: float
    failure_rate: float | None = Field(description="failed / (succeeded + failed), percent.")

    @classmethod
    def of(cls, counts: Counts) -> FleetCounts:
        """The body of ``counts``."""
        return cls(
            size=counts.size,
            pending=counts.pending,
            in_flight=counts.in_flight,
            succeeded=counts.succeeded,
            failed=counts.failed,
            skipped=counts.skipped,
            cancelled=counts.cancelled,
            percent_done=round(counts.percent_done, 2),
            failure_rate=None if counts.failure_rate is None else round(counts.failure_rate, 2),
        )


class FleetWaveOut(BaseModel):
    """One wave (1 is the canary)."""

    number: int
    state: Literal["pending", "open", "done"]
    counts: FleetCounts
    failures_accepted: bool = Field(description="Resumed after an automatic pause.")
    opened_at: datetime | None
    closed_at: datetime | None


class FleetFailureOut(BaseModel):
    """Failed (or skipped) devices with one reason and one device error code."""

    state: Literal["failed", "skipped"]
    reason: str | None
    usp_code: int | None
    devices: int

    @classmethod
    def of(cls, found: FailureCount) -> FleetFailureOut:
        """The body of a count."""
        return cls.model_validate(
            {
                "state": found.state,
                "reason": found.reason,
                "usp_code": found.usp_code,
                "devices": found.devices,
            }
        )


class FleetRolloutOut(BaseModel):
    """A rollout: its plan, state and counts (with its waves and failures when one is shown)."""

    id: uuid.UUID
    name: str
    image_id: uuid.UUID
    image_version: str
    group_id: uuid.UUID | None
    target: str = Field(description="What it targets, in words (no ids of devices).")
    state: RolloutStateName
    pause_reason: str | None = Field(description="operator, or failure_threshold.")
    current_wave: int
    wave_count: int
    excluded: int = Field(description="Devices of the target the image is not for.")
    counts: FleetCounts
    canary: str
    waves_plan: str
    max_in_flight: int
    max_per_model: int | None
    failure_threshold: float
    window: str
    time_zone: str
    deadline_seconds: int
    actor: str
    created_at: datetime
    started_at: datetime | None
    paused_at: datetime | None
    finished_at: datetime | None
    waves: list[FleetWaveOut] = Field(description="Each wave (one rollout shown only).")
    failures: list[FleetFailureOut] = Field(
        description="Failures by reason and device code, most frequent first (one rollout only)."
    )

    @classmethod
    def of(cls, view: RolloutView, failures: list[FailureCount] | None = None) -> FleetRolloutOut:
        """The body of ``view`` (``failures`` for one rollout)."""
        return cls(
            id=view.id,
            name=view.name,
            image_id=view.image_id,
            image_version=view.image_version,
            group_id=view.group_id,
            target=view.target,
            state=view.state.value,
            pause_reason=view.pause_reason,
            current_wave=view.current_wave,
            wave_count=view.wave_count,
            excluded=view.excluded,
            counts=FleetCounts.of(view.counts),
            canary=view.canary,
            waves_plan=view.waves_plan,
            max_in_flight=view.max_in_flight,
            max_per_model=view.max_per_model,
            failure_threshold=view.failure_threshold,
            window=view.window,
            time_zone=view.time_zone,
            deadline_seconds=view.deadline_seconds,
            actor=view.actor,
            created_at=view.created_at,
            started_at=view.started_at,
            paused_at=view.paused_at,
            finished_at=view.finished_at,
            waves=[
                FleetWaveOut.model_validate(
                    {
                        "number": wave.number,
                        "state": wave.state,
                        "counts": FleetCounts.of(wave.counts),
                        "failures_accepted": wave.failures_accepted,
                        "opened_at": wave.opened_at,
                        "closed_at": wave.closed_at,
                    }
                )
                for wave in view.waves
            ],
            failures=[FleetFailureOut.of(found) for found in failures or ()],
        )


class FleetRolloutList(BaseModel):
    """The newest rollouts with their totals (their waves are not listed)."""

    rollouts: list[FleetRolloutOut]
