"""Typed USP requests a Controller sends.

Build them with the functions in :mod:`doorstep.usp.messages` or directly; the
wire mapping lives in ``_encode``/``_decode``.  Notify, which an Agent sends, is in
``_notify``; Register and Deregister, which only a USP Broker handles, in ``_register``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import ClassVar

from doorstep.usp._types import MsgType


@dataclass(frozen=True, slots=True)
class Get:
    """Read parameters; ``max_depth`` 0 means the whole subtree of each path."""

    MSG_TYPE: ClassVar[MsgType] = MsgType.GET
    param_paths: tuple[str, ...]
    max_depth: int = 0


@dataclass(frozen=True, slots=True)
class ParamSetting:
    """One parameter of a Set or Add; a ``required`` one failing fails its object."""

    param: str
    value: str
    required: bool = False


@dataclass(frozen=True, slots=True)
class UpdateObject:
    """The parameters to set on one object path (which may match several instances)."""

    obj_path: str
    param_settings: tuple[ParamSetting, ...] = ()


@dataclass(frozen=True, slots=True)
class Set:
    """Write parameters.  Without ``allow_partial`` any failure returns an Error Msg."""

    MSG_TYPE: ClassVar[MsgType] = MsgType.SET
    update_objs: tuple[UpdateObject, ...]
    allow_partial: bool = False


@dataclass(frozen=True, slots=True)
class CreateObject:
    """A new instance of the table ``obj_path`` (ends with ``.``) and its parameters."""

    obj_path: str
    param_settings: tuple[ParamSetting, ...] = ()


@dataclass(frozen=True, slots=True)
class Add:
    """Create table instances."""

    MSG_TYPE: ClassVar[MsgType] = MsgType.ADD
    create_objs: tuple[CreateObject, ...]
    allow_partial: bool = False


@dataclass(frozen=True, slots=True)
class Delete:
    """Delete table instances."""

    MSG_TYPE: ClassVar[MsgType] = MsgType.DELETE
    obj_paths: tuple[str, ...]
    allow_partial: bool = False


@dataclass(frozen=True, slots=True)
class Operate:
    """Run a command such as ``Device.Reboot()``."""

    MSG_TYPE: ClassVar[MsgType] = MsgType.OPERATE
    command: str
    command_key: str = ""
    send_resp: bool = True
    input_args: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class GetSupportedDM:
    """Ask which objects, parameters, commands and events the agent supports."""

    MSG_TYPE: ClassVar[MsgType] = MsgType.GET_SUPPORTED_DM
    obj_paths: tuple[str, ...]
    first_level_only: bool = False
    return_commands: bool = False
    return_events: bool = False
    return_params: bool = False
    return_unique_key_sets: bool = False


@dataclass(frozen=True, slots=True)
class GetInstances:
    """List the instances of tables and their unique keys."""

    MSG_TYPE: ClassVar[MsgType] = MsgType.GET_INSTANCES
    obj_paths: tuple[str, ...]
    first_level_only: bool = False


@dataclass(frozen=True, slots=True)
class GetSupportedProtocol:
    """Tell the USP versions the Controller supports and ask for the agent's."""

    MSG_TYPE: ClassVar[MsgType] = MsgType.GET_SUPPORTED_PROTO
    controller_supported_protocol_versions: tuple[str, ...]
