"""What one device may do at the broker, and MQTT topic-filter matching.

:func:`device_grants` is decision 0009's per-device ACL with the endpoint id spelt
out (Mosquitto's dynamic-security plugin does not expand ``%u``), built from the
controller's topics so the broker and the controller always agree.
:func:`allowed` answers an EMQX authorization question with the same grants.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from doorstep.usp.config import UspConfig

Action = Literal["publish", "subscribe"]


@dataclass(frozen=True, slots=True)
class Grant:
    """One ACL entry: ``action`` on topics matching ``topic`` (a filter)."""

    action: Action
    topic: str


def device_grants(config: UspConfig, endpoint_id: str) -> tuple[Grant, ...]:
    """The device's six grants: publish to the controller and responses, read its own."""
    controller, response = config.mqtt_controller_topic, config.mqtt_response_topic
    agent = config.mqtt_agent_topic
    return (
        Grant("publish", f"{controller}/{endpoint_id}"),
        Grant("publish", f"{controller}/{endpoint_id}/#"),
        Grant("publish", f"{response}/+/{endpoint_id}"),
        Grant("publish", f"{response}/+/{endpoint_id}/#"),
        Grant("subscribe", f"{agent}/{endpoint_id}"),
        Grant("subscribe", f"{agent}/{endpoint_id}/#"),
    )


def covers(grant: str, requested: str) -> bool:
    """Whether every topic ``requested`` (a topic or a filter) matches is in ``grant``."""
    wanted, granted = requested.split("/"), grant.split("/")
    for index, level in enumerate(granted):
        if level == "#":
            return True
        if index >= len(wanted):
            return False
        asked = wanted[index]
        if asked == "#" or (asked == "+" and level != "+"):
            return False
        if level not in ("+", asked):
            return False
    return len(wanted) == len(granted)


def allowed(config: UspConfig, endpoint_id: str, action: Action, topic: str) -> bool:
    """Whether device ``endpoint_id`` may ``action`` on ``topic``."""
    if topic.startswith("$share/"):  # a device never subscribes to shared topics
        return False
    return any(
        g.action == action and covers(g.topic, topic) for g in device_grants(config, endpoint_id)
    )
