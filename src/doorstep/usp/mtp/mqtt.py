"""The controller's MQTT MTP (MQTT 5, or 3.1.1 for brokers without 5), on aiomqtt.

Topics (``UspConfig``; the broker ACL in ADR 0009 makes the endpoint level an
authenticated identity):

* ``<controller_topic>/<agent eid>``: agents publish here (v5: Response Topic = their
  own topic; 3.1.1: ``…/reply-to=<their topic>``).  Every controller process
  subscribes to ``$share/<group>/<controller_topic>/#``, so the broker hands each
  Record to one of them.  With ``mqtt_shared_group`` "" (a broker without shared
  subscriptions) the subscription is plain and only one controller may run.
* ``<response_topic>/<instance>/<agent eid>``: the Response Topic of this process's
  requests, subscribed without sharing, so an answer comes back to the process that
  waits for it.
* ``<agent_topic>/<agent eid>``: where an agent is addressed before it told us its
  topic (MQTTConnectRecord ``subscribed_topic``, Response Topic, ``/reply-to=``).
* ``<controller_topic>/<agent eid>/will``: the agent's last will (provisioned by
  :mod:`doorstep.usp.agent_setup`); the broker publishes it when the agent's
  connection drops, and the controller takes the agent as gone.

Publications carry Content Type ``usp.msg`` and a Response Topic (v5), or the
``/reply-to=`` suffix (agents that connected with 3.1.1, or a 3.1.1 controller).
:meth:`MqttTransport.run` reconnects with a capped exponential back-off and
re-subscribes after a broker restart; it then tells the controller
(``mqtt_restored``), which takes each agent's next Record as its Connect Record, since
the ones sent while this process was away are lost.
"""

from __future__ import annotations

import asyncio
import logging
import random
import ssl

import aiomqtt
from paho.mqtt.client import MQTT_CLEAN_START_FIRST_ONLY
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from paho.mqtt.subscribeoptions import SubscribeOptions

from doorstep.usp._controller.core import ControllerCore
from doorstep.usp._controller.errors import DeviceOfflineError, MtpUnavailableError
from doorstep.usp._controller.links import MQTT, AgentAddress, Origin
from doorstep.usp.mtp._topics import (
    CONTENT_TYPE,
    CONTENT_TYPES,
    NO_DELAY,
    WILL_LEVEL,
    endpoint_after,
    split_reply_to,
    valid_publish_topic,
    with_reply_to,
)

log = logging.getLogger("doorstep.usp.mqtt")


class MqttTransport:
    """MQTT for one controller process; attach it, then run :meth:`run` as a task."""

    name = MQTT

    def __init__(self, controller: ControllerCore, *, tls: ssl.SSLContext | None = None) -> None:
        self._controller = controller
        self._config = config = controller.config
        self._broker = config.broker
        self._tls = tls or (ssl.create_default_context() if self._broker.tls else None)
        self._client: aiomqtt.Client | None = None
        self.connected = asyncio.Event()
        """Set while connected and subscribed."""
        self.sessions = 0
        """How many times a broker session was established (1 + reconnections)."""
        controller.attach(self)

    @property
    def v5(self) -> bool:
        """Whether this process connects with MQTT 5."""
        return self._config.mqtt_v5

    def subscriptions(self) -> list[str]:
        """The topic filters this process subscribes to."""
        config = self._config
        shared = f"{config.mqtt_controller_topic}/#"
        if config.mqtt_shared_group:
            shared = f"$share/{config.mqtt_shared_group}/{shared}"
        own = f"{config.mqtt_response_topic}/{self._controller.instance}/#"
        return [shared, own]

    def default_address(self, endpoint_id: str) -> AgentAddress | None:
        """``<agent_topic>/<eid>`` over MQTT 5: the convention of the broker ACL."""
        return AgentAddress(MQTT, f"{self._config.mqtt_agent_topic}/{endpoint_id}", True)

    async def send(
        self, endpoint_id: str, address: AgentAddress, data: bytes, *, response: bool
    ) -> None:
        """Publish one Record to ``address``; the reply goes to this process's topic."""
        client = self._client
        if client is None or not self.connected.is_set():
            raise MtpUnavailableError("not connected to the MQTT broker")
        if address.mtp != MQTT or not valid_publish_topic(address.topic):
            raise DeviceOfflineError("no MQTT topic known for the device")
        config = self._config
        if response:
            reply = f"{config.mqtt_controller_topic}/{endpoint_id}"
        else:
            reply = f"{config.mqtt_response_topic}/{self._controller.instance}/{endpoint_id}"
        properties: Properties | None = None
        topic = address.topic
        if address.mqtt_v5 and self.v5:
            properties = _properties(PacketTypes.PUBLISH)
            properties.ContentType = CONTENT_TYPE
            properties.ResponseTopic = reply
        else:
            topic = with_reply_to(topic, reply)
        try:
            await client.publish(topic, data, qos=config.mqtt_qos, properties=properties)
        except aiomqtt.MqttError:
            # Perhaps it did, and the device has the request: its outcome is unknown.
            raise MtpUnavailableError("the MQTT broker did not confirm the message") from None

    async def run(self) -> None:
        """Stay connected until cancelled: connect, subscribe, receive; back off on loss."""
        delay = self._config.reconnect_min
        while True:
            established = self.sessions
            try:
                await self._session()
            except aiomqtt.MqttError as exc:
                log.warning("mqtt broker connection lost or refused: %s", type(exc).__name__)
            finally:
                self._client = None
                self.connected.clear()
            if self.sessions != established:
                delay = self._config.reconnect_min
            await asyncio.sleep(delay * random.uniform(0.75, 1.0))  # noqa: S311 - jitter
            delay = min(delay * 2, self._config.reconnect_max)

    async def _session(self) -> None:
        config, broker = self._config, self._broker
        properties = None
        if self.v5:
            properties = _properties(PacketTypes.CONNECT)
            properties.UserProperty = [("usp-endpoint-id", config.controller_id)]
        client = aiomqtt.Client(
            broker.host,
            broker.port,
            username=broker.username,
            password=broker.password,
            identifier=f"doorstep-{self._controller.instance}",
            protocol=aiomqtt.ProtocolVersion.V5 if self.v5 else aiomqtt.ProtocolVersion.V311,
            clean_session=None if self.v5 else True,
            clean_start=True if self.v5 else MQTT_CLEAN_START_FIRST_ONLY,
            keepalive=config.mqtt_keepalive,
            properties=properties,
            tls_context=self._tls,
            timeout=10,
            socket_options=NO_DELAY,
        )
        async with client:
            client.pending_calls_threshold = 1 << 30  # we run many publishes at once on purpose
            for topic_filter in self.subscriptions():
                if self.v5:
                    await client.subscribe(topic_filter, options=SubscribeOptions(config.mqtt_qos))
                else:
                    await client.subscribe(topic_filter, qos=config.mqtt_qos)
            self._client = client
            self.sessions += 1
            if self.sessions > 1:  # what agents sent meanwhile is lost, their Connect Records too
                self._controller.mqtt_restored()
            self.connected.set()
            log.info("mqtt controller subscribed", extra={"session": self.sessions})
            async for message in client.messages:
                await self._on_message(message)

    async def _on_message(self, message: aiomqtt.Message) -> None:
        payload = message.payload  # paho hands over bytes
        base, reply_to = split_reply_to(message.topic.value)
        properties = message.properties
        response_topic = getattr(properties, "ResponseTopic", None) if properties else None
        content_type = getattr(properties, "ContentType", None) if properties else None
        address = None
        if response_topic and valid_publish_topic(response_topic):
            address = AgentAddress(MQTT, response_topic, True)
        elif reply_to and valid_publish_topic(reply_to):
            address = AgentAddress(MQTT, reply_to, False)
        if base.endswith("/" + WILL_LEVEL):
            gone = endpoint_after(base[: -len(WILL_LEVEL) - 1], self._config.mqtt_controller_topic)
            if gone is not None:
                await self._controller.last_will(gone, Origin(MQTT, gone))
                return
        identity = None
        if self._config.mqtt_check_topic_identity:
            identity = self._identity(base) or ""  # "" never matches: no identity, no entry
        origin = Origin(MQTT, identity, False, address, content_type in (None, *CONTENT_TYPES))
        await self._controller.receive(bytes(payload), origin)

    def _identity(self, topic: str) -> str | None:
        config = self._config
        own = f"{config.mqtt_response_topic}/{self._controller.instance}"
        return endpoint_after(topic, config.mqtt_controller_topic) or endpoint_after(topic, own)


def _properties(packet_type: int) -> Properties:
    """MQTT 5 properties for ``packet_type`` (paho's constructor is untyped)."""
    return Properties(packet_type)  # type: ignore[no-untyped-call]
