"""The last will of a simulated device's MQTT connection, as a controller provisioned it.

A device connects without a will until a controller sets ``WillEnable``, ``WillTopic``
and ``WillValue`` of its MQTT client (``Device.MQTT.Client.1.``); the new settings
apply at its next connection (the agent reconnects when they change).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

MQTT_CLIENT = "Device.MQTT.Client.1."
_TRUE = frozenset({"true", "1"})


@dataclass(frozen=True, slots=True)
class LastWill:
    """The last will a controller provisioned on the device's MQTT client."""

    topic: str
    value: str
    qos: int = 1
    retain: bool = False


def last_will_of(values: Mapping[str, str]) -> LastWill | None:
    """The provisioned will in a device's ``values``, or None (none, or no topic)."""
    topic = values.get(MQTT_CLIENT + "WillTopic", "")
    if values.get(MQTT_CLIENT + "WillEnable") not in _TRUE or not topic:
        return None
    qos = min(int(values.get(MQTT_CLIENT + "WillQoS", "0") or 0), 1)
    retain = values.get(MQTT_CLIENT + "WillRetain") in _TRUE
    return LastWill(topic, values.get(MQTT_CLIENT + "WillValue", ""), qos, retain)
