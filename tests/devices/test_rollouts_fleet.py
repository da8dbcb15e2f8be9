"""A rollout of 1,000 simulated devices over real Mosquitto: a wave pauses on failures, resumes.

The canary meets downloads that fail (a bad mirror: half of them), pauses the rollout by
itself, the mirror is repaired (the agents' failure rate drops to 1 %), an operator
resumes, and the rollout finishes: every device is updated exactly once or has its
failure recorded with the device's own code.  The figures are printed (``-s``).
"""

from __future__ import annotations

import dataclasses
import time
from collections import Counter

import pytest

from doorstep.core.runtime import Runtime
from doorstep.devices.fleet.rollout_models import RolloutState
from doorstep.devices.fleet.rollouts import resume_rollout
from doorstep.usp.agent_sim import SimConditions
from tests.devices.rollout_net import add_image, requests_made, rig, versions, with_conditions
from tests.usp_net.conftest import needs_mosquitto, run

DEVICES = 1_000


@needs_mosquitto
@pytest.mark.slow
@pytest.mark.timeout(600)  # about 110 s alone; much longer beside the whole suite on 2 cores
def test_a_rollout_of_a_thousand_devices_pauses_on_a_failing_wave_and_resumes(
    committed: Runtime, broker: int
) -> None:
    bad_mirror = SimConditions(seed=19, download_failure=0.5)

    async def scenario() -> None:
        started = time.monotonic()
        async with rig(
            committed,
            broker,
            DEVICES,
            conditions=bad_mirror,
            connect_timeout=120,
            fleet_executor_concurrency=128,
            # the agent set-up a rollout needs (Boot!, TransferComplete!); no last will,
            # which would make each agent reconnect once more before the rollout starts
            device_last_will=False,
            device_subscriptions=("boot", "transfer_complete"),
        ) as made:
            ready = time.monotonic()
            image_id = add_image(made.runtime)
            rollout_id = made.start(
                image_id, canary_percent=2.0, growth=3.0, max_in_flight=128, failure_threshold=10
            )
            paused = await made.until(rollout_id, (RolloutState.AUTO_PAUSED,), timeout=60)
            assert paused.current_wave == 1 and paused.pause_reason == "failure_threshold"
            canary = paused.waves[0].counts
            assert canary.failed * 100 > 10 * canary.size
            assert sum(w.counts.settled for w in paused.waves[1:]) == 0

            with_conditions(made.agents, dataclasses.replace(bad_mirror, download_failure=0.01))
            made.act(resume_rollout, rollout_id)
            resumed = time.monotonic()
            view = await made.until(rollout_id, (RolloutState.FINISHED,), timeout=300)
            done = time.monotonic()

            counts = view.counts
            assert counts.size == DEVICES
            assert counts.succeeded + counts.failed == DEVICES
            ops = made.operations(rollout_id)
            assert len(ops) == DEVICES == len({device for device, _, _ in ops})
            assert Counter(reason for _, state, reason in ops if state == "failed") == {
                "device_error": counts.failed
            }
            assert versions(made.agents).count("3.0.0") == counts.succeeded
            sent = Counter(requests_made(agent) for agent in made.agents)
            assert sent == {2: counts.succeeded, 1: counts.failed}  # never a second command
            rate = DEVICES / (done - resumed + 1e-9) * 60
            print(
                f"\n{DEVICES} devices ready in {ready - started:.1f} s; waves "
                f"{[w.counts.size for w in view.waves]}; canary {canary.failed}/{canary.size} "
                f"failed -> auto-paused; after resume {done - resumed:.1f} s "
                f"({rate:.0f} devices/min); {counts.succeeded} updated, {counts.failed} failed"
            )

    run(scenario(), timeout=480)
