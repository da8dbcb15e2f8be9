"""The controller's MQTT client layer (paho-mqtt on the asyncio loop, decision 0050).

Through real Mosquitto brokers: what the transport puts on the wire (Content Type and
Response Topic over MQTT 5, the ``/reply-to=`` suffix over 3.1.1), what a request meets
when the broker is away or goes away (503 at once, or the request's own timeout: no
PUBACK is waited for), the keep-alive of an idle connection, a DISCONNECT on shutdown,
and a subscription the broker refuses.  The properties cache is checked against paho.
"""

from __future__ import annotations

import asyncio
from typing import Any

import aiomqtt
import pytest
from paho.mqtt.packettypes import PacketTypes

from doorstep.usp.controller import DeviceTimeoutError, MtpUnavailableError
from doorstep.usp.mtp._properties import PublishProperties, properties
from tests.usp_net.conftest import net_config, run
from tests.usp_net.helpers import agents_for, mqtt_controller, store_for, until

SERIAL = "Device.DeviceInfo.SerialNumber"
VERSIONS = [pytest.param(True, id="mqtt5"), pytest.param(False, id="mqtt3.1.1")]


@pytest.mark.parametrize("v5", VERSIONS)
def test_requests_carry_their_reply_topic_as_the_usp_binding_says(broker: int, v5: bool) -> None:
    config = net_config(broker, mqtt_version="5" if v5 else "3.1.1")
    agents = agents_for(config, 2)
    seen: list[aiomqtt.Message] = []

    async def scenario() -> None:
        async with (
            aiomqtt.Client("127.0.0.1", broker, protocol=aiomqtt.ProtocolVersion.V5) as device,
            mqtt_controller(config, store_for(agents)) as (controller, _),
        ):
            await device.subscribe(f"{config.mqtt_agent_topic}/#", qos=1)
            for agent in agents * 2:  # nobody answers: each request ends in its timeout
                with pytest.raises(DeviceTimeoutError):
                    await controller.get(agent.endpoint_id, SERIAL, timeout=0.2)
            async with asyncio.timeout(10):
                async for message in device.messages:
                    seen.append(message)
                    if len(seen) == 4:
                        break
            instance = controller.instance
            for message, agent in zip(seen, agents * 2, strict=True):
                reply = f"{config.mqtt_response_topic}/{instance}/{agent.endpoint_id}"
                address = f"{config.mqtt_agent_topic}/{agent.endpoint_id}"
                if v5:
                    assert message.topic.value == address
                    assert message.properties is not None
                    assert message.properties.ContentType == "usp.msg"
                    assert message.properties.ResponseTopic == reply
                else:
                    assert message.topic.value == f"{address}/reply-to={reply.replace('/', '%2F')}"
                assert message.qos == config.mqtt_qos

    run(scenario())


def test_a_request_while_the_broker_is_away_fails_at_once(spawn_broker: Any) -> None:
    mosquitto = spawn_broker()
    config = net_config(mosquitto.port, reconnect_min=5.0, reconnect_max=5.0)
    (agent,) = agents_for(config, 1)

    async def scenario() -> None:
        async with mqtt_controller(config, store_for([agent])) as (controller, transport):
            await asyncio.to_thread(mosquitto.kill)
            await until(lambda: not transport.connected.is_set())
            # A timeout far beyond the test's: only an error at once passes.
            with pytest.raises(MtpUnavailableError) as refused:
                await controller.get(agent.endpoint_id, SERIAL, timeout=600)
            assert refused.value.status == 503
            assert not controller._pending

    run(scenario(), timeout=60)


def test_a_request_in_flight_when_the_broker_dies_ends_in_its_timeout(spawn_broker: Any) -> None:
    mosquitto = spawn_broker()
    config = net_config(mosquitto.port, reconnect_min=5.0, reconnect_max=5.0)
    (silent,) = agents_for(config, 1)  # known, never connected: the request stays open

    async def scenario() -> None:
        async with mqtt_controller(config, store_for([silent])) as (controller, transport):
            request = asyncio.create_task(controller.get(silent.endpoint_id, SERIAL, timeout=2.0))
            await until(lambda: controller._pending)
            await asyncio.to_thread(mosquitto.kill)
            await until(lambda: not transport.connected.is_set())
            with pytest.raises(DeviceTimeoutError) as timed_out:
                await request
            assert timed_out.value.status == 504
            assert not controller._pending
            assert controller.counters["requests_timed_out"] == 1

    run(scenario(), timeout=60)


def test_an_idle_connection_is_kept_alive(spawn_broker: Any) -> None:
    # Mosquitto drops a client that sends nothing for 1.5 keep-alive periods.
    mosquitto = spawn_broker()
    config = net_config(mosquitto.port, mqtt_keepalive=1)

    async def scenario() -> None:
        async with mqtt_controller(config, store_for([])) as (_, transport):
            await asyncio.sleep(4.0)
            assert transport.connected.is_set()
            assert transport.sessions == 1

    run(scenario())
    assert "PINGREQ" in mosquitto.log()


def test_a_stopped_controller_says_goodbye_to_the_broker(spawn_broker: Any) -> None:
    mosquitto = spawn_broker()
    config = net_config(mosquitto.port)

    async def scenario() -> str:
        async with mqtt_controller(config, store_for([])) as (controller, _):
            return controller.instance

    instance = run(scenario())
    run(until(lambda: f"Client doorstep-{instance} disconnected." in mosquitto.log()))


def test_a_subscription_the_broker_refuses_is_no_session(
    spawn_broker: Any, caplog: pytest.LogCaptureFixture
) -> None:
    probe = net_config(1)
    root = probe.mqtt_controller_topic.rsplit("/", 1)[0]
    user, secret = "doorstep-controller", "controller-secret-0123456789"
    # It may publish and subscribe to its own topics, but not to the shared subscription.
    mosquitto = spawn_broker({user: (secret, (f"write {root}/#", f"read {root}/#"))})
    config = probe.replace(mqtt_url=f"mqtt://{user}:{secret}@127.0.0.1:{mosquitto.port}")
    caplog.set_level("WARNING", logger="doorstep.usp.mqtt")

    async def scenario() -> None:
        from doorstep.usp.controller import Controller
        from doorstep.usp.mtp.mqtt import MqttTransport

        controller = Controller(config, credentials=store_for([]))
        transport = MqttTransport(controller)
        task = asyncio.create_task(transport.run())
        try:
            await until(lambda: caplog.text.count("subscription refused") >= 2)  # and retried
        finally:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
            await controller.aclose()
        assert transport.sessions == 0
        assert not transport.connected.is_set()

    run(scenario())


def test_publish_properties_are_packed_once_per_reply_topic() -> None:
    cache = PublishProperties("usp.msg", limit=3)
    first = cache.for_reply("usp/response/ab12/os::02D00C-000001")
    assert cache.for_reply("usp/response/ab12/os::02D00C-000001") is first
    fresh = properties(PacketTypes.PUBLISH)
    fresh.ContentType = "usp.msg"
    fresh.ResponseTopic = "usp/response/ab12/os::02D00C-000001"
    assert first.pack() == fresh.pack()  # type: ignore[no-untyped-call]
    assert "02D00C" not in repr(first)  # an Endpoint ID never reaches a log line
    for n in range(2, 4):
        cache.for_reply(f"usp/response/ab12/os::02D00C-00000{n}")
    assert len(cache) == 3
    cache.for_reply("usp/controller/os::02D00C-000004")  # over the limit: it starts over
    assert len(cache) == 1
    assert cache.for_reply("usp/response/ab12/os::02D00C-000001") is not first
