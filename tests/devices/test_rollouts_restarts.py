"""A rollout survives its processes and its broker; a device that never comes back fails.

* The ``doorstep controller`` process that runs the executor is killed (SIGKILL) in the
  middle of a rollout and another one started: the leases lapse, the sweep hands the
  operations back (queued when nothing was sent, waiting for the device's word when
  something was), and the rollout finishes: every device updated exactly once, or —
  when the killed process had recorded a command it never got out — failed
  ``device_timeout`` with that command never sent again.
* The broker is killed and started again in the middle of a rollout: notifications of
  that moment are lost, the executor's checks settle the operations, and no device is
  sent a command twice.
* A device that never comes back after Activate() fails ``device_timeout`` at its
  deadline and counts against its wave.
"""

from __future__ import annotations

import asyncio
import signal
import uuid
from pathlib import Path
from typing import Any

import pytest

from doorstep.core.runtime import Runtime
from doorstep.devices.fleet.rollout_models import RolloutState
from doorstep.usp.agent_sim import SimConditions
from tests.devices.rollout_net import (
    Rig,
    add_image,
    controller_env,
    controller_process,
    requests_made,
    rig,
    stop,
    versions,
)
from tests.usp_net.conftest import needs_mosquitto, run

FINISHED = (RolloutState.FINISHED,)


def _each_device_once(made: Rig, rollout_id: uuid.UUID) -> None:
    """Every device has its outcome recorded, and none was sent a command twice.

    A command recorded as sent whose message died with its process or its broker
    session never reaches the device: the operation fails ``device_timeout`` at its
    deadline, and is never sent again.
    """
    ops = made.operations(rollout_id)
    assert sorted(d for d, _, _ in ops) == made.device_ids
    by_device = {device: (state, reason) for device, state, reason in ops}
    assert set(by_device.values()) <= {("succeeded", None), ("failed", "device_timeout")}
    for agent in made.agents:
        state, _ = by_device[made.device_of(agent)]
        if state == "succeeded":  # one Download(), one Activate(): never twice
            assert (requests_made(agent), versions([agent])) == (2, ["3.0.0"])
        else:
            assert requests_made(agent) <= 1


@needs_mosquitto
@pytest.mark.slow
def test_the_controller_process_is_killed_mid_rollout_and_each_device_is_updated_once(
    committed: Runtime, broker: int, tmp_path: Path
) -> None:
    log = tmp_path / "controller.log"

    async def scenario() -> None:
        async with rig(committed, broker, 16, controller=False) as made:
            env = controller_env(made.runtime, made.config, tmp_path / "data")
            first = await controller_process(env, log)
            try:
                await made.connect()
                image_id = add_image(made.runtime)
                rollout_id = made.start(
                    image_id,
                    canary_count=4,
                    wave_sizes=(12,),
                    max_in_flight=6,
                    failure_threshold=50,
                    deadline_seconds=20,
                )
                await made.until_sent(rollout_id, 6, timeout=60)
            finally:
                stop(first, signal.SIGKILL)  # in the middle of the second wave
            assert made.view(rollout_id).state is RolloutState.RUNNING
            await asyncio.sleep(1.0)
            second = await controller_process(env, log)
            try:
                view = await made.until(rollout_id, FINISHED, timeout=90)
            finally:
                stop(second)
            assert view.counts.succeeded + view.counts.failed == 16, log.read_text()[-2000:]
            assert view.counts.succeeded >= 10
            _each_device_once(made, rollout_id)

    run(scenario(), timeout=150)


@needs_mosquitto
@pytest.mark.slow
def test_the_broker_restarts_mid_rollout_and_nothing_is_lost_or_sent_twice(
    committed: Runtime, spawn_broker: Any
) -> None:
    mosquitto = spawn_broker()

    async def scenario() -> None:
        async with rig(committed, mosquitto.port, 16) as made:
            image_id = add_image(made.runtime)
            rollout_id = made.start(
                image_id,
                canary_count=4,
                wave_sizes=(12,),
                max_in_flight=8,
                # The 8 commands in flight when the broker dies may all be lost (each
                # fails device_timeout, never sent again): that is not the wave's fault
                # and must not pause it (8 x 100 <= 70 x 12).
                failure_threshold=70,
                deadline_seconds=15,
            )
            await made.until_sent(rollout_id, 6, timeout=60)
            await asyncio.to_thread(mosquitto.kill)
            await asyncio.sleep(1.0)
            await asyncio.to_thread(mosquitto.start)
            view = await made.until(rollout_id, FINISHED, timeout=90)
            assert view.counts.succeeded + view.counts.failed == 16
            assert view.counts.succeeded >= 4  # what the outage did not touch
            _each_device_once(made, rollout_id)

    run(scenario(), timeout=150)


@needs_mosquitto
def test_devices_that_never_come_back_fail_at_their_deadline_and_pause_the_rollout(
    committed: Runtime, broker: int
) -> None:
    async def scenario() -> None:
        gone = SimConditions(seed=5, never_returns=1.0)
        async with rig(committed, broker, 6, conditions=gone) as made:
            image_id = add_image(made.runtime)
            rollout_id = made.start(image_id, canary_count=2, deadline_seconds=4)
            view = await made.until(rollout_id, (RolloutState.AUTO_PAUSED,), timeout=60)
            assert view.counts.failed == 2 and view.counts.pending == 4
            reasons = {reason for _, state, reason in made.operations(rollout_id)}
            assert reasons == {"device_timeout"}
            assert sum(requests_made(a) for a in made.agents) == 4  # two Download(), two Activate()

    run(scenario(), timeout=90)
