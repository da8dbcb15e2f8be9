"""MQTT topic forms of the USP binding (TR-369 R-MQTT.22-26).

* MQTT 5 carries the reply address in the Response Topic property.
* MQTT 3.1.1 appends ``/reply-to=<topic>`` to the topic name, each ``/`` of
  ``<topic>`` written ``%2F``; the receiver takes what follows the first
  ``/reply-to=`` and turns ``%2F`` back into ``/`` (R-MQTT.25: only that escape).
"""

from __future__ import annotations

import re
import socket

REPLY_TO = "/reply-to="
CONTENT_TYPES = frozenset({"usp.msg", "application/vnd.bbf.usp.msg"})
"""Content Types a receiver accepts (R-MQTT.27); senders write ``usp.msg``."""
CONTENT_TYPE = "usp.msg"
NO_DELAY = ((socket.IPPROTO_TCP, socket.TCP_NODELAY, 1),)
"""Socket option for MQTT clients: a Record is small and must not wait for Nagle."""

WILL_LEVEL = "will"
"""Agents' last wills are published to ``<controller topic>/<their eid>/will`` (decision
0027): inside the topics the broker ACL already lets only that agent publish to."""

_SLASH = re.compile("%2f", re.IGNORECASE)


def with_reply_to(topic: str, reply_topic: str) -> str:
    """``<topic>/reply-to=<reply_topic with / as %2F>``: the 3.1.1 publish topic."""
    return f"{topic}{REPLY_TO}{reply_topic.replace('/', '%2F')}"


def split_reply_to(topic: str) -> tuple[str, str | None]:
    """``(topic without the suffix, reply topic or None)`` of a received topic name."""
    where = topic.find(REPLY_TO)
    if where < 0:
        return topic, None
    reply = _SLASH.sub("/", topic[where + len(REPLY_TO) :])
    return topic[:where], reply or None


def endpoint_after(topic: str, prefix: str) -> str | None:
    """The single topic level after ``prefix/``, or None when ``topic`` has another shape.

    With the broker ACL of ADR 0009 only the endpoint whose user name is that level
    may publish there, so it is the identity the broker authenticated.
    """
    if not topic.startswith(prefix + "/"):
        return None
    rest = topic[len(prefix) + 1 :]
    return rest if rest and "/" not in rest else None


def valid_publish_topic(topic: str) -> bool:
    """Whether ``topic`` can be published to (non-empty, no wildcards, no ``$`` prefix)."""
    return bool(topic) and not any(ch in topic for ch in "+#\x00") and not topic.startswith("$")


def will_topic(controller_topic: str, endpoint_id: str) -> str:
    """The topic of ``endpoint_id``'s last will."""
    return f"{controller_topic}/{endpoint_id}/{WILL_LEVEL}"
