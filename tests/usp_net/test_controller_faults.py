"""The controller under the faults of issue 20, on a broker of the test's own.

* A hook that waits for an answer never holds the answers up: with one slot for
  background work, three agents connecting at once each get their registration-like
  read answered (the read path does not wait for a slot; it used to, and every read but
  the first timed out).
* After the broker restarts, an agent that reconnected before the controller did has its
  Connect Record lost (nobody subscribed yet): its next Record counts as its connection,
  so the hooks hear of it again.
"""

from __future__ import annotations

import asyncio
from typing import Any

from doorstep.usp.controller import AgentAddress, Controller
from tests.usp_net.conftest import net_config, run
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


class ReadingHooks(RecordingHooks):
    """On each Connect Record, read the agent (as the registry's hooks do) and keep it."""

    def __init__(self) -> None:
        super().__init__()
        self.controller: Controller | None = None
        self.read: dict[str, str] = {}
        self.failed: list[str] = []

    async def on_agent_connected(self, endpoint_id: str, mtp: AgentAddress) -> None:
        await super().on_agent_connected(endpoint_id, mtp)
        assert self.controller is not None
        try:
            answer = await self.controller.get(endpoint_id, SERIAL)
        except Exception as exc:
            self.failed.append(type(exc).__name__)
            return
        self.read[endpoint_id] = answer.values[SERIAL]


def test_hooks_waiting_for_answers_never_hold_the_answers_up(broker: int) -> None:
    config = net_config(broker, max_concurrent_tasks=1, request_timeout=5.0)
    agents = agents_for(config, 3)
    hooks = ReadingHooks()

    async def scenario() -> None:
        async with mqtt_controller(config, store_for(agents), hooks=hooks) as (controller, _):
            hooks.controller = controller
            async with fleet(agents, mqtt_options(config, broker), onboard=False):
                await until(lambda: len(hooks.read) + len(hooks.failed) == 3, timeout=20)
        assert hooks.failed == []
        assert hooks.read == {a.endpoint_id: a.profile.serial_number for a in agents}

    run(scenario())


def test_an_agent_back_before_the_controller_is_heard_of_again(spawn_broker: Any) -> None:
    broker = spawn_broker()
    # The controller comes back after its agent: the agent's Connect Record finds no one.
    config = net_config(broker.port, reconnect_min=3.0, reconnect_max=3.0)
    (agent,) = agents_for(config, 1)
    hooks = RecordingHooks()

    async def scenario() -> None:
        options = mqtt_options(config, broker.port, reconnect_min=0.2, reconnect_max=0.2)
        async with (
            mqtt_controller(config, store_for([agent]), hooks=hooks) as (controller, transport),
            fleet([agent], options),
        ):
            await until(lambda: len(hooks.connected) == 1)
            await asyncio.to_thread(broker.kill)
            await until(lambda: not transport.connected.is_set())
            await asyncio.to_thread(broker.start)
            await until(lambda: agent.sessions == 2, timeout=10)
            await until(transport.connected.is_set, timeout=10)
            assert len(hooks.connected) == 1  # its Connect Record went to nobody

            reply = await controller.get(agent.endpoint_id, SERIAL)  # its answer is a Record
            assert reply.values[SERIAL] == agent.profile.serial_number
            await until(lambda: len(hooks.connected) == 2)
            await controller.get(agent.endpoint_id, SERIAL)
            await asyncio.sleep(0.3)
            assert [eid for eid, _ in hooks.connected] == [agent.endpoint_id] * 2  # once only

    run(scenario())
