"""A rollout's waves and maintenance window, as pure functions."""

from __future__ import annotations

from datetime import UTC, datetime, time

import pytest

from doorstep.core.errors import InvalidInputError
from doorstep.devices.fleet.rollout_plan import in_window, wave_sizes, window_opening


@pytest.mark.parametrize(
    ("total", "plan", "expected"),
    [
        (20, {"canary_count": 2, "growth": 2.0}, [2, 4, 8, 6]),
        (1000, {"canary_percent": 1.0, "growth": 3.0}, [10, 30, 90, 270, 600]),
        (30, {"canary_percent": 5.0, "sizes": (10,)}, [2, 10, 10, 8]),
        (10, {"canary_count": 0, "sizes": (4, 6)}, [4, 6]),
        (3, {"canary_count": 5}, [3]),
        (1, {"canary_percent": 1.0}, [1]),
        (5, {"canary_count": None, "canary_percent": None}, [1, 2, 2]),
        (0, {"canary_count": 3}, []),
    ],
)
def test_waves_start_with_the_canary_and_cover_every_device_once(
    total: int, plan: dict[str, object], expected: list[int]
) -> None:
    plan.setdefault("canary_count", None)
    plan.setdefault("canary_percent", None)
    sizes = wave_sizes(total, **plan)  # type: ignore[arg-type]
    assert sizes == expected
    assert sum(sizes) == total


def test_a_plan_of_too_many_waves_is_refused() -> None:
    with pytest.raises(InvalidInputError) as refused:
        wave_sizes(10_000, canary_count=1, canary_percent=None, sizes=(1,))
    assert refused.value.fields["errors"] == [{"field": "waves", "rule": "max_waves"}]


@pytest.mark.parametrize(
    ("local", "start", "end", "inside"),
    [
        (time(3), time(2), time(4), True),
        (time(4), time(2), time(4), False),
        (time(1, 59), time(2), time(4), False),
        (time(23, 30), time(23), time(1), True),
        (time(0, 30), time(23), time(1), True),
        (time(12), time(23), time(1), False),
    ],
)
def test_a_window_may_span_midnight(local: time, start: time, end: time, inside: bool) -> None:
    assert in_window(local, start, end) is inside


def test_no_window_means_any_time() -> None:
    now = datetime(2026, 3, 1, 12, tzinfo=UTC)
    assert window_opening(now, None, None, "UTC") is None


def test_the_window_is_local_time_of_its_zone() -> None:
    # 12:00 UTC is 21:00 in Tokyo: a 02:00-05:00 window opens at 02:00 JST = 17:00 UTC
    now = datetime(2026, 3, 1, 12, tzinfo=UTC)
    assert window_opening(now, time(2), time(5), "Asia/Tokyo") == datetime(
        2026, 3, 1, 17, tzinfo=UTC
    )
    # inside it: now
    assert (
        window_opening(datetime(2026, 3, 1, 18, tzinfo=UTC), time(2), time(5), "Asia/Tokyo") is None
    )


def test_a_window_opening_in_a_daylight_saving_gap_opens_with_the_offset_before_it() -> None:
    # Europe/Berlin skips 02:00-03:00 on 29 March 2026: 02:30 CET is 01:30 UTC (03:30 CEST)
    now = datetime(2026, 3, 28, 12, tzinfo=UTC)
    opening = window_opening(now, time(2, 30), time(4), "Europe/Berlin")
    assert opening == datetime(2026, 3, 29, 1, 30, tzinfo=UTC)
    assert window_opening(opening, time(2, 30), time(4), "Europe/Berlin") is None
