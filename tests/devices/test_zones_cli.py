"""``doorstep devices zone|clear-zone|zones``: devices' own time zones from the command line."""

from __future__ import annotations

import sqlalchemy as sa

from doorstep.core.runtime import Runtime
from tests.devices.rollout_factory import fleet
from tests.privacy.test_consent_cli import doorstep

BERLIN = "CET-1CEST,M3.5.0,M10.5.0/3"


def _zones(committed: Runtime) -> dict[str, str]:
    with committed.engine.connect() as connection:
        rows = connection.execute(sa.text("SELECT device_id, time_zone FROM device_time_zones"))
        return {str(device): zone for device, zone in rows}


def test_zones_are_set_listed_and_cleared_and_a_bad_one_changes_nothing(
    committed: Runtime,
) -> None:
    settings = committed.settings
    with committed.sessions.begin() as session:
        one, two, three = (str(d) for d in fleet(session, committed.clock, 3))
    assert doorstep(settings, "devices", "zones").stdout.startswith("no device has a time zone")
    made = doorstep(settings, "devices", "zone", BERLIN, one, two)
    assert made.returncode == 0, made.stderr
    assert made.stdout.strip() == f"zone {BERLIN}: 2 devices set, 0 had it, 0 not in the fleet"
    assert doorstep(settings, "devices", "zone", "Asia/Tokyo", three).returncode == 0
    listed = doorstep(settings, "devices", "zones").stdout.splitlines()
    assert [line.split() for line in listed] == [
        ["zone", "devices"],
        [BERLIN, "2"],
        ["Asia/Tokyo", "1"],
    ]
    for bad in ("Mars/Olympus", "CET-1CEST"):
        refused = doorstep(settings, "devices", "zone", bad, one)
        assert refused.returncode == 2
        assert "the time zone is not valid" in refused.stderr
    assert doorstep(settings, "devices", "zone", "UTC", "not-a-uuid").returncode == 2
    assert _zones(committed) == {one: BERLIN, two: BERLIN, three: "Asia/Tokyo"}
    cleared = doorstep(settings, "devices", "clear-zone", one, three)
    assert cleared.stdout.strip() == "zone removed from 2 devices, 0 had none, 0 not in the fleet"
    assert _zones(committed) == {two: BERLIN}
