"""A simulated agent's MQTT side (MQTT 5 or 3.1.1), as OB-USP-Agent behaves.

* CONNECT with user name = Endpoint ID and password = the device secret (the broker
  checks them), ClientId = Endpoint ID, and (v5) the ``usp-endpoint-id`` property.
* SUBSCRIBE ``<agent_topic>/<eid>`` (v5) or ``<agent_topic>/<eid>/#`` (3.1.1), then
  PUBLISH the MQTTConnectRecord to ``<controller_topic>/<eid>``.
* Every PUBLISH carries the reply address: Response Topic and Content Type ``usp.msg``
  (v5) or ``/reply-to=`` (3.1.1).  Answers go to the request's reply address (a slow
  device, ``SimTiming.answer``, sends them that much later).
* Reconnects after a lost broker (capped back-off) and after Reboot().
* CONNECT carries a last will only when a controller provisioned one
  (``Device.MQTT.Client.1.Will*``, :meth:`SimAgent.last_will`).  An abrupt end (a strict
  agent's reboot, :meth:`SimAgent.power_off`) closes the socket without DISCONNECT, so
  the broker publishes that will.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from functools import partial

import aiomqtt
from paho.mqtt.client import MQTT_CLEAN_START_FIRST_ONLY
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from doorstep.usp._msg import Msg
from doorstep.usp.agent_sim._outbound import SendMsg
from doorstep.usp.agent_sim._reconnect import keep_connected
from doorstep.usp.agent_sim.agent import SimAgent
from doorstep.usp.mtp._topics import CONTENT_TYPE, NO_DELAY, split_reply_to, with_reply_to
from doorstep.usp.records import MqttVersion, encode_record, mqtt_connect


@dataclass(frozen=True, slots=True)
class MqttOptions:
    """Broker and topics of a simulated agent."""

    host: str = "127.0.0.1"
    port: int = 1883
    v5: bool = True
    controller_topic: str = "usp/controller"
    agent_topic: str = "usp/agent"
    qos: int = 1
    keepalive: int = 60
    reconnect_min: float = 0.5
    reconnect_max: float = 10.0
    use_credentials: bool = True


async def run_mqtt_agent(agent: SimAgent, options: MqttOptions, stop: asyncio.Event) -> None:
    """Keep ``agent`` connected until ``stop`` is set."""
    await keep_connected(
        agent,
        stop,
        lambda: _session(agent, options, stop),
        errors=(aiomqtt.MqttError,),
        reconnect_min=options.reconnect_min,
        reconnect_max=options.reconnect_max,
    )


async def _session(agent: SimAgent, options: MqttOptions, stop: asyncio.Event) -> None:
    eid = agent.endpoint_id
    own_topic = f"{options.agent_topic}/{eid}"
    controller_topic = f"{options.controller_topic}/{eid}"
    connect_properties = None
    if options.v5:
        connect_properties = _properties(PacketTypes.CONNECT)
        connect_properties.UserProperty = [("usp-endpoint-id", eid)]
    will = agent.last_will()
    client = aiomqtt.Client(
        options.host,
        options.port,
        username=eid if options.use_credentials else None,
        password=agent.secret if options.use_credentials else None,
        identifier=eid,
        protocol=aiomqtt.ProtocolVersion.V5 if options.v5 else aiomqtt.ProtocolVersion.V311,
        clean_session=None if options.v5 else True,
        clean_start=True if options.v5 else MQTT_CLEAN_START_FIRST_ONLY,
        keepalive=options.keepalive,
        properties=connect_properties,
        timeout=10,
        socket_options=NO_DELAY,
        will=aiomqtt.Will(will.topic, will.value.encode(), will.qos, will.retain)
        if will is not None
        else None,
    )

    async def publish(data: bytes, target: str) -> None:
        properties = None
        topic = target
        if options.v5:
            properties = _properties(PacketTypes.PUBLISH)
            properties.ContentType = CONTENT_TYPE
            properties.ResponseTopic = own_topic
        else:
            topic = with_reply_to(target, own_topic)
        await client.publish(topic, data, qos=options.qos, properties=properties)

    async def send(msg: Msg) -> None:
        await publish(agent.encode(msg), controller_topic)

    async with client:
        client.pending_calls_threshold = 1 << 30
        await client.subscribe(own_topic if options.v5 else own_topic + "/#", qos=options.qos)
        version = MqttVersion.V5 if options.v5 else MqttVersion.V3_1_1
        record = mqtt_connect(
            to_id=agent.controller_id, from_id=eid, version=version, subscribed_topic=own_topic
        )
        await publish(encode_record(record), controller_topic)
        agent.session_started(send)
        reader = asyncio.create_task(_read(agent, client, options, publish, send))
        ends = [reader, asyncio.create_task(agent.reboot.wait()), asyncio.create_task(stop.wait())]
        try:
            await asyncio.wait(ends, return_when=asyncio.FIRST_COMPLETED)
        finally:
            await _cancelled(ends)
            if agent.abrupt:
                await _drop(client)
        if reader.done() and not reader.cancelled() and reader.exception() is not None:
            raise reader.exception()  # type: ignore[misc]


async def _read(
    agent: SimAgent,
    client: aiomqtt.Client,
    options: MqttOptions,
    publish: Callable[[bytes, str], Awaitable[None]],
    send: SendMsg,
) -> None:
    controller_topic = f"{options.controller_topic}/{agent.endpoint_id}"
    async for message in client.messages:
        if options.v5:
            reply = getattr(message.properties, "ResponseTopic", None) or controller_topic
        else:
            reply = split_reply_to(message.topic.value)[1] or controller_topic
        answer = agent.handle_record(bytes(message.payload), send)
        if answer is None:
            continue
        if agent.timing.answer > 0:  # a slow device: carried out now, answered later
            agent.later(
                agent.delay(agent.timing.answer), partial(publish, agent.encode(answer), reply)
            )
        else:
            await publish(agent.encode(answer), reply)


async def _cancelled(tasks: Sequence[asyncio.Task[object]]) -> None:
    """Cancel ``tasks`` and wait until they ended, cancelling again while one runs on.

    Python 3.11's ``asyncio.wait_for`` (under aiomqtt's publish) drops a cancellation
    that meets its result, so a reader cancelled once may read on, and the session
    would never end (seen as a device that never came back from a reboot).
    """
    pending = set(tasks)
    while pending:
        for task in pending:
            task.cancel()
        _, pending = await asyncio.wait(pending, timeout=0.5)


async def _drop(client: aiomqtt.Client) -> None:
    """End the connection as a power cut does: the socket closes, no DISCONNECT is sent."""
    sock = client._client.socket()  # aiomqtt offers no unclean close
    if isinstance(sock, socket.socket):
        with contextlib.suppress(OSError):
            sock.shutdown(socket.SHUT_RDWR)
    with contextlib.suppress(Exception):
        await asyncio.wait_for(asyncio.shield(client._disconnected), 5)


def _properties(packet_type: int) -> Properties:
    return Properties(packet_type)  # type: ignore[no-untyped-call]
