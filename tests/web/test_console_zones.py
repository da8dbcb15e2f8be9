"""The console shows devices' own time zones (decision 0045): read as staff reads, by role.

A bound device's zone says roughly where its owner lives: support reads it for
``device.maintenance`` through ``staff_read`` (audited); an admin, who reads no
subscriber data, is told it is not shown.  A unit bound to nobody shows it as it is.
The rollout page says whose zone its window is read in.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import time
from pathlib import Path

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from doorstep.audit.services import flush_events
from doorstep.core.clock import FakeClock
from doorstep.core.runtime import Runtime
from doorstep.core.settings import Settings, load_settings
from doorstep.devices.fleet.rollout_plan import RolloutSpec, TargetFilter
from doorstep.devices.fleet.rollouts import create_rollout
from doorstep.devices.fleet.time_zones import set_zone
from tests.devices.fleet_rows import add_devices, bind
from tests.devices.rollout_factory import image
from tests.web.clients import page_client
from tests.web.test_console_access import console_sign_in

BERLIN = "CET-1CEST,M3.5.0,M10.5.0/3"
NOT_SHOWN = "Not shown to your role."


@pytest.fixture
def settings(tmp_path: Path, database_url: str) -> Settings:
    """Test settings without the fleet executor (it would share the test's connection)."""
    return load_settings(
        env="test", database_url=database_url, data_dir=tmp_path / "data", fleet_executor=False
    )


@pytest.fixture
def client(runtime: Runtime) -> Iterator[TestClient]:
    """The app on the test's transaction; redirects are not followed."""
    with page_client(runtime, follow_redirects=False) as test_client:
        yield test_client


def _zone_reads(db: Session) -> list[tuple[str, str]]:
    flush_events(db)
    rows = db.execute(
        sa.text(
            "SELECT purpose, outcome::text FROM audit_events "
            "WHERE element = 'device_time_zones.time_zone' AND action <> 'devices.zone_set' "
            "ORDER BY id"
        )
    )
    return [(row[0], row[1]) for row in rows]


def test_support_reads_a_bound_devices_zone_and_an_admin_is_told_it_is_not_shown(
    client: TestClient, db: Session, clock: FakeClock
) -> None:
    bound, stock, plain = add_devices(db, 3, now=clock.now())
    bind(db, bound, now=clock.now())
    set_zone(db, [bound], BERLIN, actor="system:tests", clock=clock)
    set_zone(db, [stock], "Asia/Tokyo", actor="system:tests", clock=clock)
    console_sign_in(client, db, clock, "support")
    page = client.get(f"/console/devices/{bound}")
    assert page.status_code == 200
    assert "Time zone of its maintenance windows" in page.text
    assert f"<code>{BERLIN}</code>" in page.text
    assert _zone_reads(db) == [("device.maintenance", "ok")]
    assert "<code>Asia/Tokyo</code>" in client.get(f"/console/devices/{stock}").text
    assert (
        "None: each rollout's own time zone applies" in client.get(f"/console/devices/{plain}").text
    )
    assert _zone_reads(db) == [("device.maintenance", "ok")]  # nobody's zone: no staff read

    console_sign_in(client, db, clock, "admin")
    page = client.get(f"/console/devices/{bound}")
    assert page.status_code == 200
    assert BERLIN not in page.text
    zone_row = page.text.split("Time zone of its maintenance windows", 1)[1].split("</dd>", 1)[0]
    assert NOT_SHOWN in zone_row
    assert _zone_reads(db) == [("device.maintenance", "ok"), ("device.maintenance", "refused")]


def test_the_rollout_page_says_the_window_is_read_in_each_devices_zone(
    client: TestClient, db: Session, clock: FakeClock
) -> None:
    devices = add_devices(db, 2, now=clock.now())
    spec = RolloutSpec(
        name="night",
        image_id=image(db, clock, models=("Doorstep Router 9",)),
        target=TargetFilter(device_ids=tuple(devices)),
        window_start=time(2),
        window_end=time(4),
        time_zone="Europe/Berlin",
    )
    rollout = create_rollout(db, spec, actor="system:tests", clock=clock)
    console_sign_in(client, db, clock, "support")
    page = client.get(f"/console/rollouts/{rollout.id}")
    assert page.status_code == 200
    assert (
        "02:00-04:00 (Europe/Berlin) · in each device's own time zone where staff set one"
        in page.text
    )
