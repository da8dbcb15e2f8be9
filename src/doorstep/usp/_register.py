"""Register and Deregister: a USP Service and the USP Broker inside a device.

A cloud Controller never sends these; it decodes them so that any valid Msg has a
typed form (and answers a request it does not handle with Error 7001).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from doorstep.usp._types import MsgType, OperationFailure


@dataclass(frozen=True, slots=True)
class Register:
    """A USP Service registering data-model paths with a USP Broker."""

    MSG_TYPE: ClassVar[MsgType] = MsgType.REGISTER
    reg_paths: tuple[str, ...]
    allow_partial: bool = False


@dataclass(frozen=True, slots=True)
class RegisterSuccess:
    """The path that was registered."""

    registered_path: str


@dataclass(frozen=True, slots=True)
class RegisteredPathResult:
    """The outcome for one requested path."""

    requested_path: str
    oper_status: RegisterSuccess | OperationFailure


@dataclass(frozen=True, slots=True)
class RegisterResp:
    """The answer to a Register."""

    MSG_TYPE: ClassVar[MsgType] = MsgType.REGISTER_RESP
    registered_path_results: tuple[RegisteredPathResult, ...]


@dataclass(frozen=True, slots=True)
class Deregister:
    """A USP Service deregistering paths."""

    MSG_TYPE: ClassVar[MsgType] = MsgType.DEREGISTER
    paths: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class DeregisterSuccess:
    """The paths that were deregistered."""

    deregistered_paths: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class DeregisteredPathResult:
    """The outcome for one requested path."""

    requested_path: str
    oper_status: DeregisterSuccess | OperationFailure


@dataclass(frozen=True, slots=True)
class DeregisterResp:
    """The answer to a Deregister."""

    MSG_TYPE: ClassVar[MsgType] = MsgType.DEREGISTER_RESP
    deregistered_path_results: tuple[DeregisteredPathResult, ...]
