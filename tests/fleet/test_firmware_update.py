"""A firmware update of one device, end to end: the queue, the executor of ``doorstep
controller``, real Mosquitto and a simulated router (decision 0038).

Download() then Activate(); confirmed only when the device comes back on the new version.
A checksum the device rejects, an image that does not boot, a device that never returns:
each ends the operation with the device's own word (or its silence), and nothing is sent
twice.  The Activate() goes after the NotifyResp of the TransferComplete!, never from
inside its hook.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any

import pytest

from doorstep.core.runtime import Runtime
from doorstep.devices.fleet.operations import OperationState, Reason
from doorstep.devices.fleet.single import request_update
from doorstep.devices.fleet.sweep import fleet_sweep
from doorstep.usp import NotifyResp
from doorstep.usp.agent_sim import SimAgent, SimConditions, SimTiming, make_agents
from doorstep.usp.config import UspConfig
from tests.devices.conftest import device_id_of, provision
from tests.fleet.conftest import (
    CountingAgent,
    add_image,
    audit_actions,
    controller,
    counting,
    online,
    settled,
    wall_clock,
)
from tests.usp_net.conftest import needs_mosquitto, net_config, run
from tests.usp_net.helpers import fleet, mqtt_options, until

TIMING = SimTiming(onboard_retry=1.0, reboot=0.1, download=0.3, activate=0.1)
ROUTER_MODEL, ROUTER_VERSION = "DR-1000", "1.8.3"


def _agent(broker: int, **conditions: float) -> tuple[CountingAgent, UspConfig]:
    config = net_config(broker)
    sim = make_agents(
        1,
        controller_id=config.controller_id,
        timing=TIMING,
        conditions=SimConditions(**conditions),
    )[0]
    return counting(sim), config


def _update(runtime: Runtime, agent: SimAgent, image_id: uuid.UUID, **kwargs: int) -> uuid.UUID:
    with runtime.sessions.begin() as session:
        device_id = device_id_of(session, runtime, agent)
        op = request_update(
            session, device_id, image_id, actor="system:test", clock=runtime.clock, **kwargs
        )
        return op.id


Check = Callable[[Runtime, CountingAgent, uuid.UUID], Awaitable[None]]


def _scenario(
    committed: Runtime,
    broker: int,
    check: Check,
    *,
    version: str = "2.0.0",
    checksum: str | None = None,
    deadline: int | None = None,
    **conditions: float,
) -> None:
    # Checks only every 10 minutes: these updates end by the device's notifications.
    runtime = wall_clock(committed, fleet_check_seconds=600.0)
    agent, config = _agent(broker, **conditions)
    with runtime.sessions.begin() as session:
        provision(session, runtime, [agent])
    image = add_image(runtime, version, [ROUTER_MODEL], checksum=checksum)

    async def scenario() -> None:
        async with controller(runtime, config), fleet([agent], mqtt_options(config, broker)):
            await until(lambda: online(runtime, agent), timeout=30)
            extra = {"deadline_seconds": deadline} if deadline else {}
            await check(runtime, agent, _update(runtime, agent, image.id, **extra))

    run(scenario(), timeout=120)


@needs_mosquitto
def test_an_update_succeeds_only_once_the_device_runs_the_new_version(
    committed: Runtime, broker: int
) -> None:
    async def check(runtime: Runtime, agent: CountingAgent, op_id: uuid.UUID) -> None:
        op = await settled(runtime, op_id)
        assert (op.state, op.reason) == (OperationState.SUCCEEDED, None)
        assert op.result["version"] == "2.0.0" and op.result["from_version"] == ROUTER_VERSION
        assert agent.model.values["Device.DeviceInfo.SoftwareVersion"] == "2.0.0"
        assert agent.commands.count("Download()") == 1
        assert agent.commands.count("Activate()") == 1
        actions = audit_actions(runtime, op_id)
        assert actions == ["fleet.operation_started", "fleet.operation_ended"]

    _scenario(committed, broker, check)


@needs_mosquitto
def test_a_checksum_the_device_rejects_fails_with_its_own_fault_code(
    committed: Runtime, broker: int
) -> None:
    async def check(runtime: Runtime, agent: CountingAgent, op_id: uuid.UUID) -> None:
        op = await settled(runtime, op_id)
        assert (op.state, op.reason) == (OperationState.FAILED, Reason.DEVICE_ERROR)
        assert op.usp_code == 7022  # the device's TransferComplete! FaultCode
        assert op.fault is not None and "checksum" in op.fault
        assert agent.commands == ["Download()"]  # never activated
        assert agent.model.values["Device.DeviceInfo.SoftwareVersion"] == ROUTER_VERSION

    _scenario(committed, broker, check, checksum="0" * 64)


@needs_mosquitto
def test_an_image_that_does_not_boot_fails_as_activation_failed(
    committed: Runtime, broker: int
) -> None:
    async def check(runtime: Runtime, agent: CountingAgent, op_id: uuid.UUID) -> None:
        op = await settled(runtime, op_id)
        assert (op.state, op.reason) == (OperationState.FAILED, Reason.ACTIVATION_FAILED)
        assert op.result["version"] == ROUTER_VERSION
        assert op.fault  # the image's BootFailureLog
        assert agent.commands.count("Activate()") == 1

    _scenario(committed, broker, check, activation_failure=1.0)


@needs_mosquitto
def test_a_device_already_on_the_version_is_not_touched(committed: Runtime, broker: int) -> None:
    async def check(runtime: Runtime, agent: CountingAgent, op_id: uuid.UUID) -> None:
        op = await settled(runtime, op_id)
        assert (op.state, op.reason) == (OperationState.SUCCEEDED, Reason.ALREADY_CURRENT)
        assert op.sent_at is None and agent.commands == []

    _scenario(committed, broker, check, version=ROUTER_VERSION)


@needs_mosquitto
def test_a_device_that_never_comes_back_fails_device_timeout_at_the_deadline(
    committed: Runtime, broker: int
) -> None:
    async def check(runtime: Runtime, agent: CountingAgent, op_id: uuid.UUID) -> None:
        await until(lambda: agent.commands.count("Activate()") == 1, timeout=30)
        await asyncio.sleep(6)  # past the deadline of 5 s
        assert fleet_sweep(runtime).timed_out == 1
        op = await settled(runtime, op_id, timeout=5)
        assert (op.state, op.reason) == (OperationState.FAILED, Reason.DEVICE_TIMEOUT)
        assert op.step == "activate"
        assert fleet_sweep(runtime).timed_out == 0  # once

    _scenario(committed, broker, check, deadline=5, never_returns=1.0)


@pytest.mark.parametrize("model", ["DG-9999"])
@needs_mosquitto
def test_an_image_for_another_model_is_not_applicable(
    committed: Runtime, broker: int, model: str
) -> None:
    runtime = wall_clock(committed)
    agent, config = _agent(broker)
    with runtime.sessions.begin() as session:
        provision(session, runtime, [agent])
    image = add_image(runtime, "2.0.0", [model])

    async def scenario() -> None:
        async with controller(runtime, config), fleet([agent], mqtt_options(config, broker)):
            await until(lambda: online(runtime, agent), timeout=30)
            op = await settled(runtime, _update(runtime, agent, image.id))
            assert (op.state, op.reason, op.fault) == (
                OperationState.FAILED,
                Reason.NOT_APPLICABLE,
                "model",
            )
            assert agent.commands == []

    run(scenario(), timeout=60)


class _Listening(CountingAgent):
    """A device that notes, in order, the commands it is asked to run and its NotifyResps."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.heard: list[str] = []

    def answer(self, msg: Any, send: Any) -> Any:
        if isinstance(msg.body, NotifyResp):
            self.heard.append(f"NotifyResp {msg.body.subscription_id}")
        command = getattr(msg.body, "command", None)
        if isinstance(command, str):
            self.heard.append(command.rsplit(".", 1)[-1])
        return super().answer(msg, send)


def _subscribed(agent: SimAgent, subscription_id: str) -> bool:
    return subscription_id in agent.model.values.values()


@needs_mosquitto
def test_activate_goes_after_the_notify_resp_of_transfer_complete_not_inside_its_hook(
    committed: Runtime, broker: int
) -> None:
    """The resume of TransferComplete! records ``downloaded``; a check turn sends Activate().

    From inside the notification's hook, Activate() reached the device before the
    NotifyResp, and an agent that answers only once it has its NotifyResp made the
    update wait out the request timeout (60 s here); it now ends in a few seconds.
    """
    timeout = 60.0
    runtime = wall_clock(
        committed,
        fleet_check_seconds=600.0,  # no periodic check: only the Proceed makes one due
        device_request_timeout_seconds=timeout,
        device_last_will=False,  # no reconnect to apply a will after the set-up
    )
    config = net_config(broker)
    timing = SimTiming(onboard_retry=1.0, reboot=0.1, download=1.0, activate=0.1)
    sim = make_agents(1, controller_id=config.controller_id, timing=timing, strict=True)[0]
    agent = _Listening(
        sim.profile,
        controller_id=sim.controller_id,
        secret=sim.secret,
        claim_code=sim.claim_code,
        timing=sim.timing,
        strict=True,
        conditions=sim.conditions,
    )
    with runtime.sessions.begin() as session:
        provision(session, runtime, [agent])
    image = add_image(runtime, "2.0.0", [ROUTER_MODEL])

    async def scenario() -> None:
        options = mqtt_options(config, broker)
        async with controller(runtime, config), fleet([agent], options, onboard=False):
            await until(lambda: online(runtime, agent), timeout=30)
            await until(lambda: _subscribed(agent, "doorstep-transfer-complete"), timeout=30)
            await asyncio.sleep(0.5)  # the connect's set-up and its check nudge are over
            op = await settled(runtime, _update(runtime, agent, image.id), timeout=timeout / 2)
            assert (op.state, op.reason) == (OperationState.SUCCEEDED, None)
            assert op.started_at is not None and op.finished_at is not None
            assert op.finished_at - op.started_at < timedelta(seconds=timeout / 2)
            assert agent.commands == ["Download()", "Activate()"]
            heard = agent.heard
            assert heard.index("NotifyResp doorstep-transfer-complete") < heard.index(
                "Activate()"
            ), heard

    run(scenario(), timeout=120)
