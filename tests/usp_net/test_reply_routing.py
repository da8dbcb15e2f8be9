"""Answers reach the controller process that asked, also after a restart (decision 0027).

Two controllers share the agents' topic (MQTT 5 shared subscription) and each has its
own response topic.  A 3.1.1 agent cannot read the Response Topic property: it answers
on the ``/reply-to=`` topic of the request, or, without one, on its configured
controller topic, which the broker hands to either process.  A controller that has not
heard from the agent since it (re)started must therefore address it the way the
directory stored at its Connect Record (topic and MQTT version), not by convention.
"""

from __future__ import annotations

import asyncio
import contextlib

from doorstep.usp.controller import MQTT, AgentAddress, Controller, Located
from tests.usp_net.conftest import needs_mosquitto, net_config, run
from tests.usp_net.helpers import (
    RecordingHooks,
    agents_for,
    fleet,
    mqtt_controller,
    mqtt_options,
    store_for,
    until,
)

SERIAL = "Device.DeviceInfo.SerialNumber"


class StoredAddresses(RecordingHooks):
    """Hooks that store each agent's address, and the directory that reads it back:
    what the device registry does with ``device_registrations`` (one store, any process)."""

    def __init__(self, store: dict[str, AgentAddress]) -> None:
        super().__init__()
        self.store = store

    async def on_agent_connected(self, endpoint_id: str, mtp: AgentAddress) -> None:
        await super().on_agent_connected(endpoint_id, mtp)
        self.store[endpoint_id] = mtp

    async def locate(self, endpoint_id: str) -> Located | None:
        address = self.store.get(endpoint_id)
        return None if address is None else Located(address, online=True)


@needs_mosquitto
def test_every_answer_reaches_the_process_that_asked_after_a_restart(broker: int) -> None:
    config = net_config(broker, request_timeout=5.0)
    agent = agents_for(config, 1, strict=True)[0]
    eid = agent.endpoint_id
    store: dict[str, AgentAddress] = {}
    credentials = store_for([agent])

    async def start(stack: contextlib.AsyncExitStack) -> Controller:
        hooks = StoredAddresses(store)
        controller, _ = await stack.enter_async_context(
            mqtt_controller(config, credentials, hooks=hooks)
        )
        controller.directory = hooks
        return controller

    async def ask(controller: Controller, count: int) -> list[str]:
        answers = await asyncio.gather(*(controller.get(eid, SERIAL) for _ in range(count)))
        return [a.values[SERIAL] for a in answers]

    async def scenario() -> None:
        async with contextlib.AsyncExitStack() as stays, contextlib.AsyncExitStack() as agents:
            survivor = await start(stays)
            async with contextlib.AsyncExitStack() as restarts:
                await start(restarts)
                options = mqtt_options(config, broker, v5=False)
                await agents.enter_async_context(fleet([agent], options, onboard=False))
                await until(lambda: eid in store, timeout=30)
            # The second process stopped; a fresh one, which never heard from the agent,
            # joins the shared subscription and asks, while the survivor asks too.
            assert store[eid] == AgentAddress(MQTT, store[eid].topic, mqtt_v5=False)
            restarted = await start(stays)
            assert eid not in restarted.agents
            serials = await asyncio.gather(ask(restarted, 16), ask(survivor, 16))
            assert serials == [[agent.profile.serial_number] * 16] * 2
            assert restarted.counters["answers_unmatched"] == 0
            assert survivor.counters["answers_unmatched"] == 0

    run(scenario())
