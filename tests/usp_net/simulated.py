"""One simulated agent and a controller over real Mosquitto, for the firmware and
diagnostics tests: subscribe as a controller would (``messages.add``), wait for the
notifications, read them back in order.
"""

from __future__ import annotations

import contextlib
import dataclasses
from collections.abc import AsyncIterator
from typing import Any

from doorstep.usp import Event, OperationComplete, ValueChange, messages
from doorstep.usp.agent_sim import SimAgent, SimConditions, SimTiming
from doorstep.usp.controller import Controller
from tests.usp_net.conftest import net_config
from tests.usp_net.helpers import (
    RecordingHooks,
    agents_for,
    fleet,
    mqtt_controller,
    mqtt_options,
    store_for,
    until,
)

QUICK = SimTiming(
    onboard_retry=1.0, site_survey=0.05, reboot=0.05, download=0.1, activate=0.05, diagnostics=0.05
)
SUBSCRIPTIONS = "Device.LocalAgent.Subscription."


def strict_agent(conditions: SimConditions | None = None, **timing: Any) -> SimAgent:
    """A strict (real-agent-like) device with ``conditions`` and quick timing."""
    agent = agents_for(net_config(1), 1, strict=True)[0]
    return SimAgent(
        agent.profile,
        controller_id=agent.controller_id,
        secret=agent.secret,
        timing=dataclasses.replace(QUICK, **timing),
        strict=True,
        conditions=conditions,
    )


@contextlib.asynccontextmanager
async def connected(
    agent: SimAgent, hooks: RecordingHooks, broker: int
) -> AsyncIterator[Controller]:
    """A controller with ``agent`` connected over MQTT 5."""
    config = net_config(broker)
    async with (
        mqtt_controller(config, store_for([agent]), hooks=hooks) as (controller, _),
        fleet([agent], mqtt_options(config, broker), onboard=False),
    ):
        await until(lambda: len(hooks.connected) == 1, timeout=30)
        yield controller


async def subscribe(
    controller: Controller, eid: str, sub_id: str, notif_type: str, *references: str
) -> None:
    """Add an enabled, persistent subscription (a strict reboot keeps it)."""
    row = {
        "ID": sub_id,
        "NotifType": notif_type,
        "ReferenceList": ",".join(references),
        "Enable": "true",
        "Persistent": "true",
    }
    await controller.request(eid, messages.add(controller.next_msg_id(), {SUBSCRIPTIONS: row}))


def request_rows(agent: SimAgent) -> list[str]:
    """The agent's ``Device.LocalAgent.Request.`` parameters (empty: no command runs)."""
    return [p for p in agent.model.values if p.startswith("Device.LocalAgent.Request.")]


def completions(hooks: RecordingHooks, eid: str, name: str) -> list[OperationComplete]:
    """The OperationComplete notifications of ``name`` (e.g. ``Download()``) so far."""
    done: list[OperationComplete] = hooks.named(eid, OperationComplete)
    return [d for d in done if d.command_name == name]


def events(hooks: RecordingHooks, eid: str, name: str) -> list[Event]:
    """The Event notifications named ``name`` so far."""
    found: list[Event] = hooks.named(eid, Event, name)
    return found


def changes(hooks: RecordingHooks, eid: str) -> list[ValueChange]:
    """The ValueChange notifications so far."""
    found: list[ValueChange] = hooks.named(eid, ValueChange)
    return found


def order(hooks: RecordingHooks, eid: str) -> list[str]:
    """What arrived, in order: event names, ``ValueChange`` and command names."""
    names = []
    for sender, notify in hooks.events:
        body = notify.notification
        if sender != eid:
            continue
        if isinstance(body, Event):
            names.append(body.event_name)
        elif isinstance(body, OperationComplete):
            names.append(body.command_name)
        elif isinstance(body, ValueChange):
            names.append("ValueChange")
    return names
