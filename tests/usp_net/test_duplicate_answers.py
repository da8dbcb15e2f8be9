"""An agent's duplicate answer is ignored: each request completes once, with its own answer.

A raw MQTT client plays the agent (a simulated agent's data model makes the answers):
it answers every request twice, as an agent whose publication was retried would, and
sends an old answer again just before answering a later request.  The controller
returns the first answer of each request, counts every copy as unmatched and changes
nothing for it; a later request is never settled by an earlier request's answer.
"""

from __future__ import annotations

import asyncio

import aiomqtt
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from doorstep.usp import GetResp, SetResp
from doorstep.usp.agent_sim import SimAgent
from doorstep.usp.mtp._topics import CONTENT_TYPE
from doorstep.usp.records import MqttVersion, encode_record, mqtt_connect
from tests.usp_net.conftest import net_config, run
from tests.usp_net.helpers import agents_for, mqtt_controller, store_for, until

SSID = "Device.WiFi.SSID.1.SSID"


async def _nothing(_msg: object) -> None:
    """The raw agent sends no notifications."""


async def _echoing_agent(agent: SimAgent, port: int, controller_topic: str, own: str) -> None:
    """Answer every request twice; before each answer, repeat the previous one."""
    properties = Properties(PacketTypes.PUBLISH)  # type: ignore[no-untyped-call]
    properties.ContentType = CONTENT_TYPE
    properties.ResponseTopic = own
    async with aiomqtt.Client(
        "127.0.0.1", port, identifier=agent.endpoint_id, protocol=aiomqtt.ProtocolVersion.V5
    ) as client:
        await client.subscribe(own, qos=1)
        connect = mqtt_connect(
            to_id=agent.controller_id,
            from_id=agent.endpoint_id,
            version=MqttVersion.V5,
            subscribed_topic=own,
        )
        await client.publish(controller_topic, encode_record(connect), qos=1, properties=properties)
        previous: bytes | None = None
        async for message in client.messages:
            reply_to = getattr(message.properties, "ResponseTopic", None) or controller_topic
            answer = agent.handle_record(bytes(message.payload), _nothing)
            if answer is None:
                continue
            data = agent.encode(answer)
            for copy in (previous, data, data):
                if copy is not None:
                    await client.publish(reply_to, copy, qos=1, properties=properties)
            previous = data


def test_a_duplicate_answer_is_ignored_and_never_settles_another_request(broker: int) -> None:
    config = net_config(broker)
    (agent,) = agents_for(config, 1)
    eid = agent.endpoint_id
    own = f"{config.mqtt_agent_topic}/{eid}"
    controller_topic = f"{config.mqtt_controller_topic}/{eid}"

    async def scenario() -> None:
        async with mqtt_controller(config, store_for([agent])) as (controller, _):
            playing = asyncio.create_task(_echoing_agent(agent, broker, controller_topic, own))
            try:
                await until(lambda: eid in controller.agents)
                first = await controller.set(eid, {SSID: "first-name"})
                assert isinstance(first, SetResp)
                await until(lambda: controller.counters["answers_unmatched"] == 1)

                # The Set's answer comes again right before the Get's: the Get gets its own.
                read = await controller.get(eid, SSID)
                assert isinstance(read, GetResp)
                assert read.values[SSID] == "first-name"
                second = await controller.set(eid, {SSID: "second-name"})
                assert isinstance(second, SetResp)
                await until(lambda: controller.counters["answers_unmatched"] == 5)
                await asyncio.sleep(0.3)  # nothing else arrives, nothing else changes
                assert controller.counters["answers_unmatched"] == 5
                assert controller.counters["requests"] == 3
                assert not controller._pending
            finally:
                playing.cancel()
                await asyncio.gather(playing, return_exceptions=True)
        assert agent.model.values[SSID] == "second-name"
        assert sorted(agent.sets_applied.values()) == [1, 1]  # each Set applied once

    run(scenario())
