"""The controller's MQTT MTP (MQTT 5, or 3.1.1 for brokers without 5), on paho-mqtt.

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

The client is paho-mqtt on this process's asyncio loop (:mod:`._paho_loop`, decision
0050): a PUBLISH is handed to paho and not waited for (the USP answer proves delivery;
a request whose PUBLISH was lost with the connection ends in the controller's
timeout, one sent while disconnected fails at once with MtpUnavailableError), and the
MQTT 5 properties of a PUBLISH are built once per reply topic (:mod:`._properties`).
"""

from __future__ import annotations

import asyncio
import logging
import random
import ssl

import paho.mqtt.client as paho
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.subscribeoptions import SubscribeOptions

from doorstep.usp._controller.core import ControllerCore
from doorstep.usp._controller.errors import DeviceOfflineError, MtpUnavailableError
from doorstep.usp._controller.links import MQTT, AgentAddress, Origin
from doorstep.usp.mtp._paho_loop import PahoSession, SessionLost
from doorstep.usp.mtp._properties import PublishProperties, properties
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

CONNECT_TIMEOUT = 10.0
"""Seconds for the TCP connection, the TLS handshake and the CONNACK, each."""


class MqttTransport:
    """MQTT for one controller process; attach it, then run :meth:`run` as a task."""

    name = MQTT

    def __init__(self, controller: ControllerCore, *, tls: ssl.SSLContext | None = None) -> None:
        self._controller = controller
        self._config = config = controller.config
        self._broker = config.broker
        self._tls = tls or (ssl.create_default_context() if self._broker.tls else None)
        self._session: PahoSession | None = None
        self._properties = PublishProperties(CONTENT_TYPE)
        own = f"{config.mqtt_response_topic}/{controller.instance}"
        self._own_topic = own
        self._requests_reply = own + "/"
        self._answers_reply = config.mqtt_controller_topic + "/"
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
        return [shared, f"{self._own_topic}/#"]

    def default_address(self, endpoint_id: str) -> AgentAddress | None:
        """``<agent_topic>/<eid>`` over MQTT 5: the convention of the broker ACL."""
        return AgentAddress(MQTT, f"{self._config.mqtt_agent_topic}/{endpoint_id}", True)

    async def send(
        self, endpoint_id: str, address: AgentAddress, data: bytes, *, response: bool
    ) -> None:
        """Publish one Record to ``address``; the reply goes to this process's topic.

        Returns once paho has the PUBLISH, without waiting for the broker's PUBACK.
        """
        session = self._session
        if session is None or not self.connected.is_set():
            raise MtpUnavailableError("not connected to the MQTT broker")
        if address.mtp != MQTT or not valid_publish_topic(address.topic):
            raise DeviceOfflineError("no MQTT topic known for the device")
        reply = (self._answers_reply if response else self._requests_reply) + endpoint_id
        topic = address.topic
        if address.mqtt_v5 and self.v5:
            publish_properties = self._properties.for_reply(reply)
        else:
            topic, publish_properties = with_reply_to(topic, reply), None
        try:
            session.publish(topic, data, self._config.mqtt_qos, publish_properties)
        except SessionLost:
            raise MtpUnavailableError("not connected to the MQTT broker") from None

    async def run(self) -> None:
        """Stay connected until cancelled: connect, subscribe, receive; back off on loss."""
        delay = self._config.reconnect_min
        while True:
            established = self.sessions
            try:
                await self._connection()
            except SessionLost as exc:
                log.warning("mqtt broker connection lost or refused: %s", exc)
            finally:
                self._session = None
                self.connected.clear()
            if self.sessions != established:
                delay = self._config.reconnect_min
            await asyncio.sleep(delay * random.uniform(0.75, 1.0))  # noqa: S311 - jitter
            delay = min(delay * 2, self._config.reconnect_max)

    def _client(self) -> paho.Client:
        """A new paho client for one connection (nothing of an earlier one is sent again)."""
        broker = self._broker
        version = paho.MQTTv5 if self.v5 else paho.MQTTv311
        client = paho.Client(
            CallbackAPIVersion.VERSION2,
            client_id=f"doorstep-{self._controller.instance}",
            clean_session=None if self.v5 else True,
            protocol=version,
        )
        if broker.username is not None:
            client.username_pw_set(broker.username, broker.password)
        if self._tls is not None:
            client.tls_set_context(self._tls)
        return client

    async def _connection(self) -> None:
        config, broker = self._config, self._broker
        connect_properties = None
        if self.v5:
            connect_properties = properties(PacketTypes.CONNECT)
            connect_properties.UserProperty = [("usp-endpoint-id", config.controller_id)]
        session = PahoSession(self._client(), socket_options=NO_DELAY)
        try:
            await session.open(
                broker.host,
                broker.port,
                keepalive=config.mqtt_keepalive,
                clean_start=True if self.v5 else paho.MQTT_CLEAN_START_FIRST_ONLY,
                properties=connect_properties,
                timeout=CONNECT_TIMEOUT,
            )
            qos = config.mqtt_qos
            options: int | SubscribeOptions = SubscribeOptions(qos) if self.v5 else qos
            await session.subscribe(
                [(topic_filter, options) for topic_filter in self.subscriptions()]
            )
            self._session = session
            self.sessions += 1
            if self.sessions > 1:  # what agents sent meanwhile is lost, their Connect Records too
                self._controller.mqtt_restored()
            self.connected.set()
            log.info("mqtt controller subscribed", extra={"session": self.sessions})
            await session.deliver(self._on_message)
        finally:
            session.close()

    async def _on_message(self, message: paho.MQTTMessage) -> None:
        try:
            topic = message.topic
        except UnicodeDecodeError:  # not a topic this process subscribed to
            return
        base, reply_to = split_reply_to(topic)
        message_properties = message.properties
        response_topic = getattr(message_properties, "ResponseTopic", None)
        content_type = getattr(message_properties, "ContentType", None)
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
        await self._controller.receive(bytes(message.payload), origin)

    def _identity(self, topic: str) -> str | None:
        controller_topic = self._config.mqtt_controller_topic
        return endpoint_after(topic, controller_topic) or endpoint_after(topic, self._own_topic)
