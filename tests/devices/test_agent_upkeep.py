"""The device registry keeps its subscriptions, Periodic! and last will on real-like agents.

``serve`` with MQTT through real Mosquitto and a strict simulated agent (MQTT 3.1.1, as
many routers ship): on first contact Doorstep creates its subscriptions (owned by its
controller id), sets Periodic! below the silence timeout and provisions a last will; a
firmware change then reaches the registration by ValueChange, without polling; a power
cut makes the device offline at once (the broker's last will) and a request to it fails
at once; after a factory reset the subscriptions are back.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
import sqlalchemy as sa

from doorstep.core.runtime import Runtime
from doorstep.devices.hooks import DeviceHooks
from doorstep.usp.agent_sim import SimAgent
from doorstep.usp.controller import MQTT, AgentAddress, DeviceOfflineError, Located
from doorstep.usp.mtp.mqtt import MqttTransport
from tests.devices.conftest import devices_for, provision, served
from tests.usp_net.conftest import needs_mosquitto, run
from tests.usp_net.helpers import fleet, mqtt_options, until

FIRMWARE = "Device.DeviceInfo.SoftwareVersion"
SERIAL = "Device.DeviceInfo.SerialNumber"
OURS = ["doorstep-boot", "doorstep-diagnostics", "doorstep-operation-complete",
        "doorstep-periodic", "doorstep-registration", "doorstep-transfer-complete"]  # fmt: skip


def _held(agent: SimAgent) -> list[str]:
    values = agent.model.values
    return sorted(
        value
        for path, value in values.items()
        if path.startswith("Device.LocalAgent.Subscription.") and path.endswith(".ID")
    )


def _row(runtime: Runtime, endpoint_id: str) -> dict[str, Any]:
    query = sa.text(
        "SELECT firmware_version, online, offline_since FROM device_registrations "
        "WHERE endpoint_id = :eid"
    )
    with runtime.engine.connect() as connection:
        row = connection.execute(query, {"eid": endpoint_id}).mappings().first()
    return dict(row) if row is not None else {}


async def _poll(runtime: Runtime, endpoint_id: str, key: str, wanted: object) -> None:
    async def matches() -> bool:
        row = await asyncio.to_thread(_row, runtime, endpoint_id)
        return row.get(key) == wanted

    for _ in range(600):
        if await matches():
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"{key} never became {wanted!r}")


@needs_mosquitto
def test_first_contact_sets_up_the_agent_and_presence_follows_it(
    committed: Runtime, broker: int
) -> None:
    async def scenario() -> None:
        async with served(committed, mqtt_url=f"mqtt://127.0.0.1:{broker}") as app:
            agent = devices_for(app.config, 1, strict=True)[0]
            eid = agent.endpoint_id
            with committed.sessions.begin() as session:
                provision(session, committed, [agent])
            controller = app.state.hub.controller
            hooks = controller.hooks
            assert isinstance(hooks, DeviceHooks)
            transport = MqttTransport(controller)
            task = asyncio.create_task(transport.run())
            try:
                await asyncio.wait_for(transport.connected.wait(), 10)
                options = mqtt_options(app.config, broker, v5=False)
                async with fleet([agent], options, onboard=False):
                    await until(lambda: _held(agent) == OURS, timeout=30)
                    await until(
                        lambda: agent.sessions >= 2 and agent.last_will() is not None, timeout=30
                    )
                    values = agent.model.values
                    assert values["Device.LocalAgent.Controller.1.PeriodicNotifInterval"] == "300"
                    await _poll(committed, eid, "online", True)

                    # The directory any controller process reads: stored topic, 3.1.1.
                    located = await hooks.upkeep.locate(eid)
                    assert located is not None and located.address is not None
                    stored = AgentAddress(MQTT, located.address.topic, mqtt_v5=False)
                    assert located == Located(stored, online=True)

                    agent.change(FIRMWARE, "3.0.0")  # no poll: the ValueChange says so
                    await _poll(committed, eid, "firmware_version", "3.0.0")

                    agent.power_off()
                    await _poll(committed, eid, "online", False)
                    with pytest.raises(DeviceOfflineError):
                        await controller.get(eid, SERIAL, timeout=60, purpose="device.registration")
                    assert controller.counters["requests_timed_out"] == 0

                    agent.power_on()
                    await _poll(committed, eid, "online", True)
                    agent.factory_reset()
                    await until(lambda: _held(agent) == [], timeout=30)
                    await until(lambda: _held(agent) == OURS, timeout=30)
                    assert len(_held(agent)) == len(OURS)  # never duplicated
            finally:
                task.cancel()
                await asyncio.gather(task, return_exceptions=True)

    run(scenario())
