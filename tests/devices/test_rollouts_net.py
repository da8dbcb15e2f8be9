"""Rollouts on real Mosquitto with simulated agents and the real executor: each rule.

Every test checks the end state on both sides: the rollout's counts, the operations'
rows, and the devices themselves (their firmware version, and how many asynchronous
commands each one was sent: one Download() and one Activate() for an update, never a
second one).
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections import Counter
from datetime import UTC, timedelta

import sqlalchemy as sa

from doorstep.core.runtime import Runtime
from doorstep.devices.fleet.rollout_models import RolloutState
from doorstep.devices.fleet.rollouts import abort_rollout, resume_rollout
from doorstep.usp.agent_sim import SimConditions
from tests.devices.rollout_net import (
    TIMING,
    Rig,
    add_image,
    requests_made,
    rig,
    versions,
    with_conditions,
)
from tests.usp_net.conftest import needs_mosquitto, run

DONE = (RolloutState.FINISHED,)


def _flying(made: Rig, rollout_id: object) -> tuple[int, int]:
    """Open operations of the rollout now: in total, and of the busiest model."""
    with made.runtime.engine.connect() as connection:
        rows = connection.execute(
            sa.text(
                "SELECT r.model, count(*) FROM device_operations o JOIN device_registrations r "
                "USING (device_id) WHERE o.origin_id = :id "
                "AND o.state IN ('queued', 'running', 'waiting') GROUP BY r.model"
            ),
            {"id": rollout_id},
        ).all()
    counts = [n for _, n in rows]
    return sum(counts), max(counts, default=0)


def _debug(made: Rig, rollout_id: object) -> list[object]:
    """The rollout's operations, to say where a stuck one stands."""
    with made.runtime.engine.connect() as connection:
        return list(
            connection.execute(
                sa.text(
                    "SELECT state, step, result, reason, check_at, sent_at, lease_until "
                    "FROM device_operations WHERE origin_id = :id"
                ),
                {"id": rollout_id},
            ).all()
        )


@needs_mosquitto
def test_a_rollout_updates_every_device_once_in_waves_within_its_caps(
    committed: Runtime, broker: int
) -> None:
    async def scenario() -> None:
        async with rig(committed, broker, 12) as made:
            image_id = add_image(made.runtime)
            rollout_id = made.start(
                image_id, canary_count=2, wave_sizes=(10,), max_in_flight=4, max_per_model=3
            )
            seen: list[tuple[int, int]] = []
            deadline = asyncio.get_running_loop().time() + 60
            while made.view(rollout_id).state is RolloutState.RUNNING:
                seen.append(await asyncio.to_thread(_flying, made, rollout_id))
                assert asyncio.get_running_loop().time() < deadline, _debug(made, rollout_id)
                await asyncio.sleep(0.02)
            view = await made.until(rollout_id, DONE)
            assert (view.counts.succeeded, view.counts.failed) == (12, 0)
            assert [w.counts.size for w in view.waves] == [2, 10]
            assert max(total for total, _ in seen) <= 4
            assert max(model for _, model in seen) <= 3
            assert max(total for total, _ in seen) >= 3  # the caps were reached, not idle
            assert versions(made.agents) == ["3.0.0"] * 12
            assert [requests_made(a) for a in made.agents] == [2] * 12

    run(scenario(), timeout=120)


@needs_mosquitto
def test_a_bad_checksum_fails_the_canary_on_the_device_and_pauses_the_rollout(
    committed: Runtime, broker: int
) -> None:
    async def scenario() -> None:
        async with rig(committed, broker, 6) as made:
            image_id = add_image(made.runtime, good_checksum=False)
            rollout_id = made.start(image_id, canary_count=2, failure_threshold=10)
            view = await made.until(rollout_id, (RolloutState.AUTO_PAUSED,))
            assert view.pause_reason == "failure_threshold"
            assert view.counts.failed >= 1 and view.counts.pending >= 4
            rows = made.operations(rollout_id)
            assert {reason for _, state, reason in rows if state == "failed"} == {"device_error"}
            with made.runtime.engine.connect() as connection:
                codes = connection.execute(
                    sa.text(
                        "SELECT DISTINCT usp_code FROM device_operations WHERE origin_id = :id"
                        " AND state = 'failed'"
                    ),
                    {"id": rollout_id},
                ).scalars()
                assert set(codes) == {7022}  # the device's own code (ValidationFailed)
            await asyncio.sleep(1.5)  # paused: nothing more starts
            assert len(made.operations(rollout_id)) == len(rows)
            assert versions(made.agents).count("3.0.0") == 0

    run(scenario(), timeout=120)


@needs_mosquitto
def test_failing_downloads_pause_a_wave_and_resume_finishes_the_rollout_once_per_device(
    committed: Runtime, broker: int
) -> None:
    broken = SimConditions(seed=11, download_failure=1.0)  # a mirror that serves nothing

    async def scenario() -> None:
        async with rig(committed, broker, 30, conditions=broken) as made:
            image_id = add_image(made.runtime)
            rollout_id = made.start(
                image_id, canary_count=10, wave_sizes=(20,), max_in_flight=5, failure_threshold=20
            )
            paused = await made.until(rollout_id, (RolloutState.AUTO_PAUSED,))
            canary = paused.waves[0].counts
            assert canary.failed >= 3 and canary.failed * 100 > 20 * canary.size
            assert paused.waves[1].counts.settled == 0  # the next wave never opened
            with_conditions(made.agents, dataclasses.replace(broken, download_failure=0.1))
            made.act(resume_rollout, rollout_id)
            view = await made.until(rollout_id, (*DONE, RolloutState.AUTO_PAUSED))
            while view.state is RolloutState.AUTO_PAUSED:  # wave 2 over 20 % too: go on
                made.act(resume_rollout, rollout_id)
                view = await made.until(rollout_id, (*DONE, RolloutState.AUTO_PAUSED))
            assert view.counts.succeeded + view.counts.failed == 30
            assert view.waves[0].failures_accepted
            ops = made.operations(rollout_id)
            assert sorted(device for device, _, _ in ops) == made.device_ids
            assert {reason for _, state, reason in ops if state == "failed"} == {"device_error"}
            assert versions(made.agents).count("3.0.0") == view.counts.succeeded
            sent = Counter(requests_made(a) for a in made.agents)
            # an update: Download() + Activate(); a failed download: Download() only
            assert sent == {2: view.counts.succeeded, 1: view.counts.failed}

    run(scenario(), timeout=150)


@needs_mosquitto
def test_abort_lets_the_devices_updating_now_finish_and_starts_no_other(
    committed: Runtime, broker: int
) -> None:
    async def scenario() -> None:
        slow = dataclasses.replace(TIMING, download=1.0)  # the abort lands mid-update
        async with rig(committed, broker, 10, timing=slow) as made:
            image_id = add_image(made.runtime)
            rollout_id = made.start(image_id, canary_count=0, wave_sizes=(10,), max_in_flight=3)
            await made.until_sent(rollout_id, 3)
            made.act(abort_rollout, rollout_id)
            view = await made.until(rollout_id, (RolloutState.ABORTED,))
            assert view.counts.succeeded == 3
            assert view.counts.cancelled == 7
            await asyncio.sleep(1.0)
            assert versions(made.agents).count("3.0.0") == 3
            assert sum(requests_made(a) for a in made.agents) == 6

    run(scenario(), timeout=120)


@needs_mosquitto
def test_devices_wait_for_the_maintenance_window_and_update_when_it_opens(
    committed: Runtime, broker: int
) -> None:
    async def scenario() -> None:
        async with rig(committed, broker, 4) as made:
            now = made.clock.now().astimezone(UTC)
            opens = (now + timedelta(hours=2)).time().replace(second=0, microsecond=0)
            closes = (now + timedelta(hours=3)).time().replace(second=0, microsecond=0)
            image_id = add_image(made.runtime)
            rollout_id = made.start(
                image_id, canary_count=4, window_start=opens, window_end=closes, time_zone="UTC"
            )
            await asyncio.sleep(2.0)
            assert {state for _, state, _ in made.operations(rollout_id)} == {"queued"}
            assert [requests_made(a) for a in made.agents] == [0] * 4
            made.clock.offset = timedelta(hours=2, minutes=1)  # the window is open
            view = await made.until(rollout_id, DONE)
            assert view.counts.succeeded == 4

    run(scenario(), timeout=120)
