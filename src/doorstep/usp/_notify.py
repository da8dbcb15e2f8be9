"""Typed Notify (sent by an Agent) and NotifyResp (the Controller's answer).

A Notify carries one notification: an :class:`Event` (``Boot!``, ``Periodic!`` …), a
:class:`ValueChange`, an :class:`ObjectCreation` or :class:`ObjectDeletion`, an
:class:`OperationComplete` of an asynchronous command, or an
:class:`OnBoardRequest` (``subscription_id`` "" and ``send_resp`` true).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import ClassVar

from doorstep.usp._types import CommandFailure, MsgType, OutputArgs


@dataclass(frozen=True, slots=True)
class Event:
    """An event such as ``Device.`` ``Boot!``; ``params`` are the event's arguments."""

    obj_path: str
    event_name: str
    params: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class ValueChange:
    """A subscribed parameter changed to ``param_value``."""

    param_path: str
    param_value: str


@dataclass(frozen=True, slots=True)
class ObjectCreation:
    """A table instance was created (``obj_path`` is the instance path)."""

    obj_path: str
    unique_keys: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class ObjectDeletion:
    """A table instance was deleted."""

    obj_path: str


@dataclass(frozen=True, slots=True)
class OperationComplete:
    """An asynchronous command finished with output arguments or a failure."""

    obj_path: str
    command_name: str
    command_key: str
    result: OutputArgs | CommandFailure


@dataclass(frozen=True, slots=True)
class OnBoardRequest:
    """A device asks to be onboarded; it retries until it gets a NotifyResp."""

    oui: str
    product_class: str
    serial_number: str
    agent_supported_protocol_versions: tuple[str, ...]


Notification = (
    Event | ValueChange | ObjectCreation | ObjectDeletion | OperationComplete | OnBoardRequest
)


@dataclass(frozen=True, slots=True)
class Notify:
    """A notification for ``subscription_id``; ``send_resp`` asks for a NotifyResp."""

    MSG_TYPE: ClassVar[MsgType] = MsgType.NOTIFY
    subscription_id: str
    notification: Notification
    send_resp: bool = False


@dataclass(frozen=True, slots=True)
class NotifyResp:
    """The answer to a Notify: the same msg_id and subscription_id."""

    MSG_TYPE: ClassVar[MsgType] = MsgType.NOTIFY_RESP
    subscription_id: str
