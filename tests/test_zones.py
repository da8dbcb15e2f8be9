"""The time-zone reader: POSIX TZ strings agree with zoneinfo, DST edges, bad input refused.

The IANA database writes each zone's rule for the years after its table as a POSIX TZ
string (the footer of its TZif file), so every rule the world uses is checked here
against :mod:`zoneinfo` reading the same zone, on both sides of each transition.
"""

from __future__ import annotations

import pickle
import zoneinfo
from datetime import UTC, datetime, timedelta
from functools import cache
from pathlib import Path

import pytest
import tzdata
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from doorstep.core.errors import InvalidInputError
from doorstep.core.zones import PosixZone, ZoneError, check_zone, parse_zone, zone_or_none

BERLIN = "CET-1CEST,M3.5.0,M10.5.0/3"
SYDNEY = "AEST-10AEDT,M10.1.0,M4.1.0/3"
DUBLIN = "IST-1GMT0,M10.5.0,M3.5.0/1"
YEAR = 2090  # after the last explicit transition of every zone: the rule alone decides
H = timedelta(hours=1)


@cache
def _footers() -> dict[str, str]:
    """Each distinct POSIX rule of the IANA database, with a zone that uses it."""
    found: dict[str, str] = {}
    tzdata_root = Path(tzdata.__file__).parent / "zoneinfo"
    for key in sorted(zoneinfo.available_timezones()):
        files = [Path(base) / key for base in zoneinfo.TZPATH] + [tzdata_root / key]
        read = next((path.read_bytes() for path in files if path.is_file()), b"")
        if not read.startswith(b"TZif") or read[4:5] < b"2":
            continue
        footer = read.rstrip(b"\n").rsplit(b"\n", 1)[-1].decode()
        if footer:
            found.setdefault(footer, key)
    return found


def _same(posix: str, key: str, instant: datetime) -> None:
    """The POSIX reader and zoneinfo agree at ``instant``: wall time, fold, offset, and back."""
    ours, theirs = instant.astimezone(PosixZone(posix)), instant.astimezone(zoneinfo.ZoneInfo(key))
    assert (ours.replace(tzinfo=None), ours.fold, ours.utcoffset()) == (
        theirs.replace(tzinfo=None),
        theirs.fold,
        theirs.utcoffset(),
    ), (posix, key, instant)
    wall = instant.replace(tzinfo=None)
    for fold in (0, 1):
        assert (
            wall.replace(tzinfo=PosixZone(posix), fold=fold).utcoffset()
            == wall.replace(tzinfo=zoneinfo.ZoneInfo(key), fold=fold).utcoffset()
        ), (posix, key, wall, fold)


def test_the_database_has_rules_to_check_against() -> None:
    footers = _footers()
    assert len(footers) > 50
    assert BERLIN in footers and SYDNEY in footers and DUBLIN in footers


def _changes(zone: PosixZone) -> list[datetime]:
    """The hours of :data:`YEAR` at which ``zone``'s offset changes (by the day, then hour)."""

    def offset(at: datetime) -> timedelta | None:
        return at.astimezone(zone).utcoffset()

    start = datetime(YEAR, 1, 1, tzinfo=UTC)
    days = [start + 24 * H * day for day in range(366)]
    return [
        day + H * hour
        for day in days
        if offset(day) != offset(day + 24 * H)
        for hour in range(1, 25)
        if offset(day + H * hour) != offset(day + H * (hour - 1))
    ]


def test_every_rule_of_the_iana_database_agrees_with_zoneinfo_around_its_transitions() -> None:
    for posix, key in _footers().items():
        zone = PosixZone(posix)
        changes = _changes(zone)
        assert len(changes) in (0, 2), (posix, changes)
        for change in changes:
            for minutes in range(-120, 121, 15):
                _same(posix, key, change + timedelta(minutes=minutes))
            _same(posix, key, change - timedelta(seconds=1))


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    rule=st.sampled_from(sorted(_footers().items())),
    seconds=st.integers(0, 20 * 366 * 86400),
)
def test_any_instant_of_any_rule_agrees_with_zoneinfo(rule: tuple[str, str], seconds: int) -> None:
    posix, key = rule
    _same(posix, key, datetime(2088, 1, 1, tzinfo=UTC) + timedelta(seconds=seconds))


def test_spring_forward_and_fall_back_in_berlin() -> None:
    zone = PosixZone(BERLIN)
    spring = datetime(2026, 3, 29, 1, 0, tzinfo=UTC)  # 02:00 CET becomes 03:00 CEST
    assert (spring - timedelta(seconds=1)).astimezone(zone).isoformat() == (
        "2026-03-29T01:59:59+01:00"
    )
    assert spring.astimezone(zone).isoformat() == "2026-03-29T03:00:00+02:00"
    assert spring.astimezone(zone).tzname() == "CEST"
    # 02:30 does not exist that night: fold=0 reads it with the offset before the gap
    gap = datetime(2026, 3, 29, 2, 30, tzinfo=zone)
    assert gap.utcoffset() == H
    assert gap.replace(fold=1).utcoffset() == 2 * H
    autumn = datetime(2026, 10, 25, 1, 0, tzinfo=UTC)  # 03:00 CEST becomes 02:00 CET
    first = (autumn - timedelta(minutes=30)).astimezone(zone)
    second = (autumn + timedelta(minutes=30)).astimezone(zone)
    assert (first.time().isoformat(), first.fold, first.tzname()) == ("02:30:00", 0, "CEST")
    assert (second.time().isoformat(), second.fold, second.tzname()) == ("02:30:00", 1, "CET")
    assert datetime(2026, 10, 25, 2, 30, tzinfo=zone).utcoffset() == 2 * H
    assert datetime(2026, 10, 25, 2, 30, tzinfo=zone, fold=1).utcoffset() == H


def test_the_southern_summer_spans_the_new_year() -> None:
    zone = PosixZone(SYDNEY)
    assert datetime(2026, 12, 31, 23, tzinfo=UTC).astimezone(zone).utcoffset() == 11 * H
    assert datetime(2027, 1, 1, 1, tzinfo=UTC).astimezone(zone).utcoffset() == 11 * H
    assert datetime(2026, 7, 1, tzinfo=UTC).astimezone(zone).utcoffset() == 10 * H
    # summer time ends 5 April 2026 at 03:00 AEDT (16:00 UTC the day before)
    ends = datetime(2026, 4, 4, 16, tzinfo=UTC)
    assert (ends - timedelta(seconds=1)).astimezone(zone).utcoffset() == 11 * H
    assert ends.astimezone(zone).utcoffset() == 10 * H


def test_negative_daylight_saving_in_dublin_is_winter() -> None:
    zone = PosixZone(DUBLIN)
    assert datetime(2026, 7, 1, tzinfo=UTC).astimezone(zone).utcoffset() == H
    assert datetime(2026, 7, 1, tzinfo=UTC).astimezone(zone).tzname() == "IST"
    assert datetime(2026, 1, 15, tzinfo=UTC).astimezone(zone).utcoffset() == timedelta(0)
    assert datetime(2026, 1, 15, tzinfo=UTC).astimezone(zone).tzname() == "GMT"


def test_julian_days_skip_the_leap_day_and_zero_based_days_count_it() -> None:
    julian = PosixZone("AAA0BBB,J60/0,J300/0")  # J60 is 1 March, leap year or not
    assert datetime(2028, 2, 29, 12, tzinfo=julian).utcoffset() == timedelta(0)
    assert datetime(2028, 3, 1, 12, tzinfo=julian).utcoffset() == H
    counted = PosixZone("AAA0BBB,59/0,300/0")  # day 59 (from 0) is 29 February in 2028
    assert datetime(2028, 2, 29, 12, tzinfo=counted).utcoffset() == H
    assert datetime(2027, 2, 28, 12, tzinfo=counted).utcoffset() == timedelta(0)
    assert datetime(2027, 3, 1, 12, tzinfo=counted).utcoffset() == H


def test_daylight_saving_all_year_and_times_past_midnight() -> None:
    always = PosixZone("EST5EDT,0/0,J365/25")  # RFC 8536's example: summer time all year
    for instant in (datetime(2026, 1, 1, 4, 59, tzinfo=UTC), datetime(2026, 7, 1, tzinfo=UTC)):
        assert instant.astimezone(always).utcoffset() == -4 * H
    assert datetime(2026, 12, 31, 23, 59, tzinfo=always).utcoffset() == -4 * H
    assert datetime(2027, 1, 1, 0, 30, tzinfo=always).utcoffset() == -4 * H


def test_names_offsets_and_defaults() -> None:
    zone = PosixZone("<+0545>-5:45")
    assert datetime(2026, 6, 1, tzinfo=UTC).astimezone(zone).utcoffset() == timedelta(
        hours=5, minutes=45
    )
    assert datetime(2026, 6, 1, tzinfo=zone).tzname() == "+0545"
    assert datetime(2026, 6, 1, tzinfo=zone).dst() == timedelta(0)
    default = PosixZone("EST5EDT4,M3.2.0,M11.1.0")  # 02:00 when no time is given
    assert datetime(2026, 3, 8, 6, 59, tzinfo=UTC).astimezone(default).utcoffset() == -5 * H
    assert datetime(2026, 3, 8, 7, 0, tzinfo=UTC).astimezone(default).utcoffset() == -4 * H
    assert datetime(2026, 7, 1, tzinfo=default).dst() == H


def test_an_iana_name_comes_first_and_zones_compare_by_text() -> None:
    assert isinstance(parse_zone("EST5EDT"), zoneinfo.ZoneInfo)  # a POSIX string too
    assert isinstance(parse_zone(BERLIN), PosixZone)
    assert parse_zone(BERLIN) == PosixZone(BERLIN)
    assert len({PosixZone(BERLIN), PosixZone(BERLIN), PosixZone(SYDNEY)}) == 2
    assert pickle.loads(pickle.dumps(PosixZone(BERLIN))) == PosixZone(BERLIN)
    assert str(parse_zone(BERLIN)) == BERLIN
    assert check_zone("  Europe/Berlin ") == "Europe/Berlin"
    assert check_zone(BERLIN) == BERLIN
    assert zone_or_none(None) is None
    assert zone_or_none("Mars/Olympus") is None


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("", "IANA name"),
        ("Mars/Olympus", "IANA name"),
        ("Europe/Bérlin", "IANA name"),
        ("x" * 65, "at most 64"),
        ("CET-1CEST", "must give its rule"),
        ("CET-25", "an offset must be at most 24 hours"),
        ("CET-1:60", "minutes and seconds 0-59"),
        ("CET-1CEST,M13.5.0,M10.5.0/3", "month 1-12"),
        ("CET-1CEST,M3.6.0,M10.5.0/3", "week 1-5"),
        ("CET-1CEST,M3.5.7,M10.5.0/3", "weekday 0-6"),
        ("CET-1CEST,J0,J300", "from 1 to 365"),
        ("CET-1CEST,J60,366", "from 0 to 365"),
        ("CET-1CEST,M3.5.0/168,M10.5.0/3", "at most 167 hours"),
        ("CET-1CEST,M3.4.0", "IANA name"),
        ("C-1", "IANA name"),
    ],
)
def test_a_bad_zone_is_refused_with_what_is_wrong_and_never_the_value(text: str, says: str) -> None:
    with pytest.raises(ZoneError, match=says):
        parse_zone(text)
    with pytest.raises(InvalidInputError) as refused:
        check_zone(text, field="zone")
    assert refused.value.fields["errors"] == [{"field": "zone", "rule": "time_zone"}]
    assert says in refused.value.detail
    if text:
        assert text not in refused.value.detail
