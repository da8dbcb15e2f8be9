"""Bulk actions for real: Mosquitto, strict simulated agents, the controller's fleet executor.

The rig (:func:`tests.devices.rollout_net.rig`) runs the agents, ``doorstep
controller``'s parts with the executor, and the worker's fleet sweep (which calls the
bulk origin's progress hook) in the test's event loop.  Each test checks both sides:
the bulk action's counts and per-device results, and the devices themselves (how many
times each one rebooted, which parameters it holds).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import pytest
import sqlalchemy as sa

from doorstep.core.runtime import Runtime
from doorstep.devices.fleet import bulk_progress  # noqa: F401  (registers origin "bulk")
from doorstep.devices.fleet.bulk import BulkView, Target, bulk_results, get_bulk, start_bulk
from doorstep.devices.fleet.bulk_args import ParameterRefusedError
from doorstep.devices.fleet.bulk_models import BulkState
from doorstep.devices.fleet.filters import DeviceFilter
from doorstep.devices.fleet.operations import OperationKind, OperationState
from doorstep.devices.fleet.tags import tag_devices
from tests.devices.rollout_net import ACTOR, Rig, rig
from tests.packs import reference_pack
from tests.usp_net.conftest import needs_mosquitto, run

ALLOWED = reference_pack().bulk_parameters
INTERVAL = "Device.LocalAgent.Controller.1.PeriodicNotifInterval"


def _start(made: Rig, kind: OperationKind, args: dict[str, Any], **throttle: int) -> BulkView:
    with made.runtime.sessions.begin() as session:
        tag_devices(session, made.device_ids, "nettest", actor=ACTOR, clock=made.clock)
    with made.runtime.sessions.begin() as session:
        return start_bulk(
            session,
            kind,
            args,
            Target(DeviceFilter(tags=("nettest",))),
            allowed=ALLOWED,
            max_in_flight=throttle.get("max_in_flight", 50),
            per_minute=throttle.get("per_minute", 1000),
            actor=ACTOR,
            clock=made.clock,
        )


def _view(made: Rig, bulk_id: Any) -> BulkView:
    with made.runtime.sessions() as session:
        return get_bulk(session, bulk_id)


def _open(made: Rig, bulk_id: Any) -> int:
    with made.runtime.engine.connect() as connection:
        return int(
            connection.execute(
                sa.text(
                    "SELECT count(*) FROM device_operations WHERE origin_id = :id "
                    "AND state IN ('queued', 'running', 'waiting')"
                ),
                {"id": bulk_id},
            ).scalar_one()
        )


async def _until_done(
    made: Rig, bulk_id: Any, watch: Callable[[], None] | None = None, timeout: float = 60
) -> BulkView:
    deadline = asyncio.get_running_loop().time() + timeout
    while (view := await asyncio.to_thread(_view, made, bulk_id)).state is BulkState.RUNNING:
        if watch is not None:
            await asyncio.to_thread(watch)
        if asyncio.get_running_loop().time() > deadline:
            with made.runtime.engine.connect() as connection:
                rows = connection.execute(
                    sa.text(
                        "SELECT state, step, reason, fault, sent_at, lease_owner FROM "
                        "device_operations WHERE origin_id = :id"
                    ),
                    {"id": bulk_id},
                ).all()
            raise AssertionError(f"stuck: {view} {rows}")
        await asyncio.sleep(0.05)
    return view


@needs_mosquitto
def test_a_bulk_reboot_reboots_every_device_once_within_its_throttle(
    committed: Runtime, broker: int
) -> None:
    async def scenario() -> None:
        async with rig(committed, broker, 10) as made:
            before = [agent.sessions for agent in made.agents]
            started = _start(made, OperationKind.REBOOT, {}, max_in_flight=3)
            assert (started.total, started.queued) == (10, 3)
            seen: list[int] = []
            view = await _until_done(
                made, started.id, watch=lambda: seen.append(_open(made, started.id))
            )
            assert view.state is BulkState.FINISHED
            assert (view.queued, view.succeeded, view.failed, view.open) == (10, 10, 0, 0)
            assert max(seen) <= 3  # never more than max_in_flight open at once
            after = [agent.sessions for agent in made.agents]
            assert [b - a for a, b in zip(before, after, strict=True)] == [1] * 10  # once each
            with made.runtime.sessions() as session:
                results = bulk_results(session, started.id)
            assert [r.device_id for r in results] == made.device_ids
            assert {r.state for r in results} == {OperationState.SUCCEEDED}

    run(scenario())


@needs_mosquitto
@pytest.mark.clause("CPE-I.iii.R1")
def test_a_bulk_set_of_a_pppoe_path_is_refused_and_no_device_hears_of_it(
    committed: Runtime, broker: int
) -> None:
    async def scenario() -> None:
        async with rig(committed, broker, 4) as made:
            pppoe = "Device.PPP.Interface.1.Password"
            held = [dict(agent.model.values) for agent in made.agents]
            with pytest.raises(ParameterRefusedError) as refused:
                _start(made, OperationKind.SET_PARAMETERS, {"parameters": {pppoe: "x"}})
            assert refused.value.path == pppoe
            with made.runtime.engine.connect() as connection:
                queued = connection.execute(sa.text("SELECT count(*) FROM device_operations"))
                assert queued.scalar_one() == 0
            await asyncio.sleep(0.5)  # anything sent would have arrived by now
            assert [dict(agent.model.values) for agent in made.agents] == held

            allowed = _start(made, OperationKind.SET_PARAMETERS, {"parameters": {INTERVAL: "600"}})
            view = await _until_done(made, allowed.id)
            assert (view.succeeded, view.failed) == (4, 0)
            for agent, before in zip(made.agents, held, strict=True):
                changed = {
                    key
                    for key, value in agent.model.values.items()
                    if before.get(key) != value and "UpTime" not in key
                }
                assert INTERVAL in changed and agent.model.values[INTERVAL] == "600"
                assert not any(key.startswith(("Device.PPP.", "Device.WiFi.")) for key in changed)

    run(scenario())
