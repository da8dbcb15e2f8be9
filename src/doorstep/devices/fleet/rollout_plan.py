"""What a rollout is asked to do, checked; its waves; its maintenance window (pure functions).

* :class:`RolloutSpec` and :class:`TargetFilter`: a rollout as the operator describes it.
  :func:`check_spec` refuses a bad one with one :class:`InvalidInputError` naming every
  field and rule broken (nothing is stored then).
* :func:`wave_sizes`: the waves of a target of ``total`` devices: the canary (a count,
  or a share in percent rounded up to at least one device), then the listed sizes (the
  last one repeats) or sizes growing by a factor from the canary's, until every device
  has a wave.  At most :data:`MAX_WAVES` waves.
* :func:`window_opening`: when a device may start its update: now inside the window,
  else the next time the window opens.  The window is local wall-clock time in the
  device's own time zone (an IANA name or a POSIX TZ string, :mod:`doorstep.core.zones`)
  or, for a device without one, the rollout's (decision 0045); an end before the start
  spans midnight.  Daylight-saving gaps and folds follow :mod:`zoneinfo`: a start inside
  a gap is read with the offset before it (02:30 on a spring-forward night in Berlin
  opens at 03:30 summer time).
* :func:`start_order`: which of a wave's next devices to queue now, and with which
  ``not_before``: those inside their window first, in the frozen order, then those whose
  window opens soonest, so a device waiting for its night does not hold the slot of one
  whose night has come.
"""

from __future__ import annotations

import math
import re
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, time, timedelta, tzinfo
from typing import Any
from zoneinfo import ZoneInfo

from doorstep.core.errors import InvalidInputError
from doorstep.core.zones import iana_zone, zone_or_none
from doorstep.devices.fleet.filters import DeviceFilter

MAX_WAVES = 100
"""A plan of more waves is refused: a rollout an operator can follow on one page."""
MAX_IN_FLIGHT = 10_000
MAX_DEADLINE_SECONDS = 7 * 24 * 3600
MAX_LISTED = 10_000
"""Inventory ids listed in one target; a bigger fixed set is a tag and a group."""
DEFAULT_CANARY_PERCENT = 1.0
DEFAULT_GROWTH = 2.0
_NAME = re.compile(r"[\w .:/()+#-]{1,80}")


@dataclass(frozen=True, slots=True)
class TargetFilter:
    """A target without a group: a fleet filter (:class:`DeviceFilter`) and/or inventory ids.

    Both given: the devices of the list that match the filter.
    """

    filter: DeviceFilter = field(default_factory=DeviceFilter)
    device_ids: tuple[uuid.UUID, ...] = ()

    def as_json(self) -> dict[str, Any]:
        """The target as stored in ``rollouts.target_filter``."""
        return {"filter": self.filter.to_json(), "device_ids": [str(d) for d in self.device_ids]}

    @classmethod
    def from_json(cls, value: Mapping[str, Any]) -> TargetFilter:
        """The target stored by :meth:`as_json`."""
        return cls(
            DeviceFilter.parse(value.get("filter") or {}),
            tuple(uuid.UUID(str(d)) for d in value.get("device_ids", ())),
        )

    @property
    def empty(self) -> bool:
        """Whether it names nothing (which would target the whole fleet)."""
        return self.filter.empty and not self.device_ids

    def describe(self) -> str:
        """A short text of the target for lists and logs (no ids listed)."""
        parts = [] if self.filter.empty else [self.filter.describe()]
        if self.device_ids:
            parts.append(f"{len(self.device_ids)} listed devices")
        return ", ".join(parts) or "nothing"


@dataclass(frozen=True, slots=True)
class RolloutSpec:
    """A rollout as asked for; see the module docstring and :func:`check_spec`."""

    name: str
    image_id: uuid.UUID
    group_id: uuid.UUID | None = None
    target: TargetFilter | None = None
    canary_count: int | None = None
    canary_percent: float | None = None
    wave_sizes: tuple[int, ...] = field(default_factory=tuple)
    growth: float | None = None
    max_in_flight: int = 50
    max_per_model: int | None = None
    failure_threshold: float = 10.0
    window_start: time | None = None
    window_end: time | None = None
    time_zone: str = "UTC"
    deadline_seconds: int = 3600


def _target_problems(spec: RolloutSpec) -> list[tuple[str, str]]:
    found: list[tuple[str, str]] = []
    if not _NAME.fullmatch(spec.name):
        found.append(("name", "rollout_name"))
    if (spec.group_id is None) == (spec.target is None):
        found.append(("target", "group_or_filter"))
    elif spec.target is not None:
        if spec.target.empty:
            found.append(("target", "filter_not_empty"))
        if len(spec.target.device_ids) > MAX_LISTED:
            found.append(("device_ids", "at_most_10000"))
    return found


def _plan_problems(spec: RolloutSpec) -> list[tuple[str, str]]:
    checks = (
        (
            spec.canary_count is not None and spec.canary_percent is not None,
            "canary",
            "count_or_percent",
        ),
        (spec.canary_count is not None and spec.canary_count < 0, "canary_count", "not_negative"),
        (
            spec.canary_percent is not None and not 0 < spec.canary_percent <= 100,
            "canary_percent",
            "percent",
        ),
        (bool(spec.wave_sizes) and spec.growth is not None, "waves", "sizes_or_growth"),
        (any(size < 1 for size in spec.wave_sizes), "wave_sizes", "positive"),
        (spec.growth is not None and not 1.1 <= spec.growth <= 100, "growth", "growth_factor"),
        (not 1 <= spec.max_in_flight <= MAX_IN_FLIGHT, "max_in_flight", "in_flight_cap"),
        (
            spec.max_per_model is not None and not 1 <= spec.max_per_model <= MAX_IN_FLIGHT,
            "max_per_model",
            "in_flight_cap",
        ),
        (not 0 <= spec.failure_threshold <= 100, "failure_threshold", "percent"),
        (
            (spec.window_start is None) != (spec.window_end is None),
            "window",
            "start_and_end",
        ),
        (
            spec.window_start is not None and spec.window_start == spec.window_end,
            "window",
            "not_empty",
        ),
        (zone_of(spec.time_zone) is None, "time_zone", "iana_time_zone"),
        (
            not 1 <= spec.deadline_seconds <= MAX_DEADLINE_SECONDS,
            "deadline_seconds",
            "deadline",
        ),
    )
    return [(name, rule) for broken, name, rule in checks if broken]


def check_spec(spec: RolloutSpec) -> RolloutSpec:
    """``spec`` if it is valid; else one InvalidInputError naming every field and rule."""
    found = _target_problems(spec) + _plan_problems(spec)
    if found:
        raise InvalidInputError(
            "the rollout is not valid: " + ", ".join(f"{f} ({r})" for f, r in found),
            errors=[{"field": f, "rule": r} for f, r in found],
        )
    return spec


def zone_of(name: str) -> ZoneInfo | None:
    """The IANA time zone ``name`` (a rollout's default zone), or None when there is none."""
    return iana_zone(name)


def wave_sizes(
    total: int,
    *,
    canary_count: int | None,
    canary_percent: float | None,
    sizes: tuple[int, ...] | list[int] = (),
    growth: float | None = None,
) -> list[int]:
    """The size of each wave for ``total`` devices (see the module docstring)."""
    if total <= 0:
        return []
    if canary_count is not None:
        canary = min(canary_count, total)
    else:
        share = DEFAULT_CANARY_PERCENT if canary_percent is None else canary_percent
        canary = min(total, max(1, math.ceil(total * share / 100)))
    waves = [canary] if canary else []
    left = total - canary
    factor = growth if growth is not None else DEFAULT_GROWTH
    previous = max(canary, 1)
    step = 0
    while left > 0:
        if sizes:
            size = sizes[min(step, len(sizes) - 1)]
        else:
            size = max(previous + 1, math.ceil(previous * factor))
        size = min(size, left)
        waves.append(size)
        left -= size
        previous = size
        step += 1
        if len(waves) > MAX_WAVES:
            raise InvalidInputError.of(
                "waves",
                "max_waves",
                f"the plan makes more than {MAX_WAVES} waves for {total} devices",
            )
    return waves


def in_window(local: time, start: time, end: time) -> bool:
    """Whether local wall-clock time ``local`` is inside [start, end) (spanning midnight)."""
    if start < end:
        return start <= local < end
    return local >= start or local < end


def window_opening(
    now: datetime, start: time | None, end: time | None, zone: str | tzinfo
) -> datetime | None:
    """None when a device may start now; else the next instant (UTC) the window opens.

    ``zone`` is a zone or its text (IANA name or POSIX TZ string); text that names none
    reads as UTC (stored zones were checked when they were set).
    """
    if start is None or end is None:
        return None
    tz = zone if isinstance(zone, tzinfo) else zone_or_none(zone) or UTC
    local = now.astimezone(tz)
    if in_window(local.time().replace(tzinfo=None), start, end):
        return None
    day = local.date()
    for offset in (0, 1, 2):
        opening = datetime.combine(day + timedelta(days=offset), start, tzinfo=tz)
        # a wall-clock time inside a daylight-saving gap is read with the offset before it
        opening = opening.astimezone(UTC).astimezone(tz)
        if opening > local:
            return opening.astimezone(UTC)
    raise AssertionError("a daily window opens within two days")  # pragma: no cover


def start_order(
    now: datetime,
    candidates: Sequence[tuple[uuid.UUID, str | None]],
    room: int,
    *,
    start: time | None,
    end: time | None,
    default_zone: str,
) -> dict[datetime | None, list[uuid.UUID]]:
    """The ``room`` devices of ``candidates`` to queue now, grouped by their ``not_before``.

    ``candidates`` are (device, its own zone or None) in the frozen order.  Each window is
    read in the device's zone, or in ``default_zone`` (the rollout's) when it has none or
    one that names no zone any more.  Devices inside their window (key None) come first
    in the frozen order, then those whose window opens soonest.
    """
    openings: dict[str, datetime | None] = {}  # one reading per distinct zone

    def opening(zone: str) -> datetime | None:
        if zone not in openings:
            tz = zone_or_none(zone)
            openings[zone] = window_opening(now, start, end, default_zone if tz is None else tz)
        return openings[zone]

    waits = [opening(zone or default_zone) for _, zone in candidates]
    chosen = sorted(
        range(len(candidates)), key=lambda i: (waits[i] is not None, waits[i] or now, i)
    )[: max(room, 0)]
    grouped: dict[datetime | None, list[uuid.UUID]] = {}
    for index in chosen:
        grouped.setdefault(waits[index], []).append(candidates[index][0])
    return grouped
