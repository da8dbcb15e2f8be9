"""The MQTT 5 properties of the controller's PUBLISH packets, built once per reply topic.

Every Record the controller publishes over MQTT 5 carries Content Type ``usp.msg`` and
a Response Topic (``<response topic>/<instance>/<agent eid>`` for a request,
``<controller topic>/<agent eid>`` for an answer), so the properties differ only by
agent.  paho-mqtt builds a :class:`~paho.mqtt.properties.Properties` (two
dictionaries of every property name per object, about 14 µs) and packs it again for
each publish (about 8 µs); :class:`PublishProperties` builds them with paho once per
reply topic and keeps only the packed bytes (:class:`PackedProperties`, about 200 B
per topic), at most ``limit`` topics (then it starts over, as the controller's own
tables do).

paho's ``publish`` uses its ``properties`` argument only through ``pack()``: to write
the PUBLISH and, for QoS 1 and 2, to write it again on a reconnection of the same
client object, which never happens here (a new client per connection, see
:mod:`doorstep.usp.mtp._paho_loop`).
"""

from __future__ import annotations

from typing import cast

from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

LIMIT = 65_536
"""Reply topics kept at most (about 13 MB); two per agent the process talks to."""


def properties(packet_type: int) -> Properties:
    """An empty paho ``Properties`` for ``packet_type`` (paho's constructor is untyped)."""
    return Properties(packet_type)  # type: ignore[no-untyped-call]


class PackedProperties:
    """Properties paho packed once; paho's ``publish`` needs nothing else of them."""

    __slots__ = ("_packed",)

    def __init__(self, built: Properties) -> None:
        self._packed = bytes(built.pack())  # type: ignore[no-untyped-call]

    def pack(self) -> bytes:
        """The packed properties (their length, then each property), as paho wrote them."""
        return self._packed

    def __repr__(self) -> str:  # never the topic: it embeds an Endpoint ID
        return f"PackedProperties({len(self._packed)} bytes)"


class PublishProperties:
    """Content Type and Response Topic for a PUBLISH, packed once per reply topic."""

    def __init__(self, content_type: str, *, limit: int = LIMIT) -> None:
        self._content_type = content_type
        self._limit = limit
        self._packed: dict[str, Properties] = {}

    def __len__(self) -> int:
        return len(self._packed)

    def for_reply(self, reply_topic: str) -> Properties:
        """The properties of a PUBLISH whose answer goes to ``reply_topic``."""
        found = self._packed.get(reply_topic)
        if found is None:
            if len(self._packed) >= self._limit:
                self._packed.clear()
            built = properties(PacketTypes.PUBLISH)
            built.ContentType = self._content_type
            built.ResponseTopic = reply_topic
            found = self._packed[reply_topic] = cast(Properties, PackedProperties(built))
        return found
