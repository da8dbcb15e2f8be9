"""Presence over MQTT: a provisioned last will tells the controller at once that an agent
went away, and a request to it then fails at once instead of waiting for a timeout.

Real Mosquitto, strict simulated agents (MQTT 5 and 3.1.1).  A strict agent connects
without a will until :func:`ensure_agent_setup` provisions one; then a power cut (the
socket closes, no DISCONNECT) makes the broker publish it.
"""

from __future__ import annotations

import pytest

from doorstep.usp.agent_setup import LastWill, SetupPlan, ensure_agent_setup, will_topic
from doorstep.usp.controller import DeviceOfflineError
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


@needs_mosquitto
@pytest.mark.parametrize("v5", [True, False], ids=["mqtt5", "mqtt311"])
def test_a_provisioned_last_will_makes_a_gone_agent_fail_fast(broker: int, v5: bool) -> None:
    config = net_config(broker)
    agent = agents_for(config, 1, strict=True)[0]
    eid = agent.endpoint_id
    hooks = RecordingHooks()
    plan = SetupPlan("p", last_will=LastWill(will_topic(config.mqtt_controller_topic, eid)))

    async def scenario() -> None:
        async with (
            mqtt_controller(config, store_for([agent]), hooks=hooks) as (controller, _),
            fleet([agent], mqtt_options(config, broker, v5=v5), onboard=False),
        ):
            await until(lambda: len(hooks.connected) == 1, timeout=30)
            assert agent.last_will() is None  # none until a controller provisions one
            report = await ensure_agent_setup(controller, eid, plan, mqtt=True)
            assert report.settings == ("Will",)
            await until(lambda: len(hooks.connected) == 2)  # the agent applied it
            assert agent.last_will() is not None
            assert not (await ensure_agent_setup(controller, eid, plan, mqtt=True)).changed

            agent.power_off()
            await until(lambda: eid in hooks.disconnected, timeout=30)
            with pytest.raises(DeviceOfflineError):
                await controller.get(eid, SERIAL, timeout=60)  # at once, not after 60 s
            assert controller.counters["requests_timed_out"] == 0

            agent.power_on()
            await until(lambda: len(hooks.connected) == 3, timeout=30)
            answer = await controller.get(eid, SERIAL)
            assert answer.values == {SERIAL: agent.profile.serial_number}

    run(scenario())


@needs_mosquitto
def test_without_a_provisioned_will_the_broker_says_nothing(broker: int) -> None:
    config = net_config(broker)
    agent = agents_for(config, 1, strict=True)[0]
    hooks = RecordingHooks()

    async def scenario() -> None:
        async with (
            mqtt_controller(config, store_for([agent]), hooks=hooks) as (controller, _),
            fleet([agent], mqtt_options(config, broker), onboard=False),
        ):
            await until(lambda: len(hooks.connected) == 1, timeout=30)
            agent.power_off()
            agent.power_on()
            await until(lambda: len(hooks.connected) == 2, timeout=30)
            await controller.get(agent.endpoint_id, SERIAL)
            await controller.settle()
            assert hooks.disconnected == []
            assert controller.counters["agents_gone"] == 0

    run(scenario())
