"""The strict simulator behaves like a real agent, and the controller's subscriptions fix it.

Over real Mosquitto (MQTT 5 and 3.1.1) and the real WebSocket endpoint: a strict agent
sends Boot!, OperationComplete, Periodic! and ValueChange only to a subscriber, no
OnBoardRequest, and lacks the objects its model lacks; :func:`ensure_agent_setup`
creates Doorstep's subscriptions once, never twice, spares other controllers', removes
what is no longer wanted, and recreates them after a factory reset.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
from collections.abc import AsyncIterator
from typing import Any

import pytest

from doorstep.asgi import create_app
from doorstep.core.runtime import Runtime
from doorstep.usp import (
    AsyncRequest,
    ErrorCode,
    Event,
    OnBoardRequest,
    OperationComplete,
    UspErrorResponse,
    ValueChange,
    messages,
)
from doorstep.usp.agent_setup import SetupPlan, WantedSubscription, ensure_agent_setup
from doorstep.usp.agent_sim import SimAgent, WebSocketOptions
from doorstep.usp.controller import Controller
from doorstep.usp.mtp import websocket as usp_ws
from tests.usp_net.conftest import needs_mosquitto, net_config, run, serve_app
from tests.usp_net.helpers import (
    FAST,
    RecordingHooks,
    agents_for,
    fleet,
    mqtt_controller,
    mqtt_options,
    store_for,
    until,
)

SURVEY = "Device.WiFi.NeighboringWiFiDiagnostic()"
FIRMWARE = "Device.DeviceInfo.SoftwareVersion"
SUBSCRIPTIONS = (
    WantedSubscription("doorstep-boot", "Event", ("Device.Boot!",), "p"),
    WantedSubscription("doorstep-periodic", "Event", ("Device.LocalAgent.Periodic!",), "p"),
    WantedSubscription("doorstep-operation-complete", "OperationComplete", (SURVEY,), "p"),
    WantedSubscription("doorstep-registration", "ValueChange", (FIRMWARE,), "p"),
)
PLAN = SetupPlan("p", SUBSCRIPTIONS, periodic_interval=1)
KINDS = ["mqtt5", "mqtt311", "websocket"]


@contextlib.asynccontextmanager
async def connected(
    kind: str, agent: SimAgent, hooks: RecordingHooks, broker: int, runtime: Runtime
) -> AsyncIterator[Controller]:
    """A controller with ``agent`` connected to it over ``kind``."""
    if kind == "websocket":
        app = create_app(runtime)
        usp_ws.install(app, credentials=store_for([agent]), hooks=hooks, config=net_config(1))
        controller = usp_ws.hub_of(app).controller
        async with serve_app(app) as url, fleet([agent], WebSocketOptions(url), onboard=False):
            await until(lambda: len(hooks.connected) == 1, timeout=30)
            yield controller
        return
    config = net_config(broker)
    async with mqtt_controller(config, store_for([agent]), hooks=hooks) as (controller, _):
        options = mqtt_options(config, broker, v5=kind == "mqtt5")
        async with fleet([agent], options, onboard=False):
            await until(lambda: len(hooks.connected) == 1, timeout=30)
            yield controller


def _strict(**profile: Any) -> SimAgent:
    agent = agents_for(net_config(1), 1, strict=True)[0]
    return SimAgent(
        dataclasses.replace(agent.profile, **profile),
        controller_id=agent.controller_id,
        secret=agent.secret,
        timing=FAST,
        strict=True,
    )


def _held(agent: SimAgent) -> list[str]:
    values = agent.model.values
    return sorted(v for p, v in values.items() if p.startswith("Device.LocalAgent.Subscription.")
                  and p.endswith(".ID"))  # fmt: skip


@needs_mosquitto
@pytest.mark.parametrize("kind", KINDS)
def test_a_strict_agent_notifies_only_its_subscribers(
    kind: str, broker: int, runtime: Runtime
) -> None:
    agent = _strict()
    eid = agent.endpoint_id
    hooks = RecordingHooks()

    async def scenario() -> None:
        async with connected(kind, agent, hooks, broker, runtime) as controller:
            unheard = await controller.operate(eid, SURVEY, command_key="unheard")
            assert isinstance(unheard.operation_results[0].result, AsyncRequest)
            await asyncio.sleep(agent.timing.site_survey * 4)  # the survey is over by now

            report = await ensure_agent_setup(controller, eid, PLAN, mqtt=kind != "websocket")
            assert sorted(report.added) == sorted(s.id for s in SUBSCRIPTIONS)
            assert report.settings == ("PeriodicNotifInterval",)

            await controller.operate(eid, SURVEY, command_key="heard")
            await until(lambda: hooks.named(eid, OperationComplete), timeout=30)
            agent.change(FIRMWARE, "9.9.9")
            await until(lambda: hooks.named(eid, ValueChange), timeout=30)
            await until(lambda: hooks.named(eid, Event, "Periodic!"), timeout=30)
            await controller.operate(eid, "Device.Reboot()")
            await until(lambda: hooks.named(eid, Event, "Boot!"), timeout=30)

        done = hooks.named(eid, OperationComplete)
        assert [d.command_key for d in done] == ["heard"]
        assert hooks.named(eid, ValueChange)[0] == ValueChange(FIRMWARE, "9.9.9")
        boots = [
            notify.subscription_id
            for sender, notify in hooks.events
            if sender == eid
            and isinstance(notify.notification, Event)
            and notify.notification.event_name == "Boot!"
        ]
        assert boots == ["doorstep-boot"]  # none at the first connection: no subscriber yet
        assert not hooks.named(eid, OnBoardRequest)

    run(scenario())


@needs_mosquitto
def test_the_lenient_default_still_notifies_everyone(broker: int, runtime: Runtime) -> None:
    """The demo's devices keep sending Boot! and OnBoardRequest without subscriptions."""
    agent = agents_for(net_config(1), 1)[0]
    hooks = RecordingHooks()

    async def scenario() -> None:
        async with connected("mqtt5", agent, hooks, broker, runtime):
            await until(lambda: hooks.named(agent.endpoint_id, OnBoardRequest), timeout=30)
            await until(lambda: hooks.named(agent.endpoint_id, Event, "Boot!"), timeout=30)

    run(scenario())


@needs_mosquitto
@pytest.mark.parametrize("kind", ["mqtt5", "mqtt311"])
def test_subscriptions_are_kept_once_and_come_back_after_a_factory_reset(
    kind: str, broker: int, runtime: Runtime
) -> None:
    agent = _strict()
    eid = agent.endpoint_id
    hooks = RecordingHooks()
    ours = sorted(s.id for s in SUBSCRIPTIONS)

    async def scenario() -> None:
        async with connected(kind, agent, hooks, broker, runtime) as controller:
            table = "Device.LocalAgent.Subscription."
            other = messages.add(
                controller.next_msg_id(),
                {table: {"ID": "other-controller", "NotifType": "Event",
                         "ReferenceList": "Device.Boot!", "Enable": "true"}},
            )  # fmt: skip
            await controller.request(eid, other)
            stale = messages.add(
                controller.next_msg_id(),
                {table: {"ID": "doorstep-old", "NotifType": "Event",
                         "ReferenceList": "Device.Boot!", "Enable": "true"}},
            )  # fmt: skip
            await controller.request(eid, stale)

            first, second = await asyncio.gather(
                ensure_agent_setup(controller, eid, PLAN, mqtt=True),
                ensure_agent_setup(controller, eid, PLAN, mqtt=True),
            )
            assert sorted(first.added + second.added) == ours  # one of each, from both
            assert {*first.removed, *second.removed} == {"doorstep-old"}
            assert _held(agent) == sorted([*ours, "other-controller"])
            again = await ensure_agent_setup(controller, eid, PLAN, mqtt=True)
            assert not again.changed

            fewer = SetupPlan("p", SUBSCRIPTIONS[:1], periodic_interval=1)
            trimmed = await ensure_agent_setup(controller, eid, fewer, mqtt=True)
            assert sorted(trimmed.removed) == sorted(s.id for s in SUBSCRIPTIONS[1:])
            assert _held(agent) == ["doorstep-boot", "other-controller"]

            await controller.operate(eid, "Device.FactoryReset()")
            await until(lambda: len(hooks.connected) == 2, timeout=30)
            assert _held(agent) == []
            restored = await ensure_agent_setup(controller, eid, PLAN, mqtt=True)
            assert sorted(restored.added) == ours
            assert _held(agent) == ours

    run(scenario())


@needs_mosquitto
def test_a_strict_agent_lacks_what_its_model_lacks(broker: int, runtime: Runtime) -> None:
    agent = _strict(omit=("Device.Hosts.", "Device.WiFi."))
    eid = agent.endpoint_id
    hooks = RecordingHooks()

    async def scenario() -> None:
        async with connected("mqtt5", agent, hooks, broker, runtime) as controller:
            hosts = await controller.get(eid, ["Device.Hosts.Host.*.HostName", FIRMWARE])
            assert hosts.failures == {"Device.Hosts.Host.*.HostName": ErrorCode.INVALID_PATH}
            assert hosts.values == {FIRMWARE: agent.profile.software_version}
            with pytest.raises(UspErrorResponse) as refused:
                await controller.operate(eid, SURVEY)
            assert refused.value.error.err_code == ErrorCode.INVALID_PATH

    run(scenario())
