"""Maintenance windows in each device's own zone, on Mosquitto with the real executor.

Two simulated routers with zones of their own; at the same instant one is inside its
night window and the other is not: only the first is updated, the second waits (sent
nothing at all) until its own window opens, then updates.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, time, timedelta

import sqlalchemy as sa

from doorstep.core.runtime import Runtime
from doorstep.devices.fleet.rollout_models import RolloutState
from doorstep.devices.fleet.time_zones import set_zone
from tests.devices.rollout_net import add_image, requests_made, rig, versions
from tests.usp_net.conftest import needs_mosquitto, run


def _posix(local_hour: int, now: datetime) -> str:
    """A fixed POSIX zone whose wall clock shows ``local_hour`` (and now's minutes) at ``now``."""
    east = (local_hour - now.hour + 12) % 24 - 12  # hours east of UTC, -12 to 11
    return f"<{east:+03d}>{-east}"


@needs_mosquitto
def test_of_two_devices_only_the_one_inside_its_own_window_updates_until_the_other_s_opens(
    committed: Runtime, broker: int
) -> None:
    async def scenario() -> None:
        async with rig(committed, broker, 2) as made:
            now = made.clock.now().astimezone(UTC)
            inside, outside = made.agents
            zones = {inside: _posix(3, now), outside: _posix(15, now)}  # window 02:00-04:00
            with made.runtime.sessions.begin() as session:
                for agent, zone in zones.items():
                    device = made.device_of(agent)
                    set_zone(session, [device], zone, actor="system:tests", clock=made.clock)
            before = versions([outside])[0]
            image_id = add_image(made.runtime)
            rollout_id = made.start(
                image_id, canary_count=2, window_start=time(2), window_end=time(4)
            )
            deadline = asyncio.get_running_loop().time() + 30
            while versions([inside]) != ["3.0.0"]:
                assert asyncio.get_running_loop().time() < deadline, made.open_rows(rollout_id)
                await asyncio.sleep(0.1)
            await asyncio.sleep(1.0)
            assert versions(made.agents) == ["3.0.0", before]
            assert requests_made(outside) == 0
            with made.runtime.engine.connect() as connection:
                waiting = connection.execute(
                    sa.text(
                        "SELECT state::text, not_before FROM device_operations "
                        "WHERE origin_id = :id AND device_id = :device"
                    ),
                    {"id": rollout_id, "device": made.device_of(outside)},
                ).one()
            assert waiting[0] == "queued"
            assert timedelta(hours=10) < waiting[1] - now < timedelta(hours=12)
            made.clock.offset = waiting[1] - now + timedelta(minutes=1)  # its night came
            view = await made.until(rollout_id, (RolloutState.FINISHED,))
            assert view.counts.succeeded == 2
            assert versions(made.agents) == ["3.0.0", "3.0.0"]
            # one Download() and one Activate() each (the look above took a number)
            assert (requests_made(inside), requests_made(outside) - 1) == (2, 2)

    run(scenario(), timeout=120)
