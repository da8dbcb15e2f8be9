"""Typed GetSupportedDMResp: the objects, parameters, commands and events an agent supports.

Enum fields hold a member of their enum.  A value a later USP version adds is read
as the enum's zero member (``…_UNKNOWN``, or the most restrictive access), so a
newer agent never makes the answer unreadable.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from doorstep.usp._types import (
    CmdType,
    MsgType,
    ObjAccessType,
    ParamAccessType,
    ParamValueType,
    ValueChangeType,
)


@dataclass(frozen=True, slots=True)
class SupportedParam:
    """A supported parameter (``param_name`` relative to its object)."""

    param_name: str
    access: ParamAccessType = ParamAccessType.PARAM_READ_ONLY
    value_type: ParamValueType = ParamValueType.PARAM_UNKNOWN
    value_change: ValueChangeType = ValueChangeType.VALUE_CHANGE_UNKNOWN


@dataclass(frozen=True, slots=True)
class SupportedCommand:
    """A supported command such as ``Reboot()``."""

    command_name: str
    input_arg_names: tuple[str, ...] = ()
    output_arg_names: tuple[str, ...] = ()
    command_type: CmdType = CmdType.CMD_UNKNOWN


@dataclass(frozen=True, slots=True)
class SupportedEvent:
    """A supported event such as ``Boot!``."""

    event_name: str
    arg_names: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class SupportedObject:
    """A supported object (``supported_obj_path`` uses ``{i}`` for instances)."""

    supported_obj_path: str
    access: ObjAccessType = ObjAccessType.OBJ_READ_ONLY
    is_multi_instance: bool = False
    supported_commands: tuple[SupportedCommand, ...] = ()
    supported_events: tuple[SupportedEvent, ...] = ()
    supported_params: tuple[SupportedParam, ...] = ()
    divergent_paths: tuple[str, ...] = ()
    unique_key_sets: tuple[tuple[str, ...], ...] = ()  # USP 1.4


@dataclass(frozen=True, slots=True)
class RequestedObjectResult:
    """The answer for one requested object path; ``err_code`` 0 means success."""

    req_obj_path: str
    err_code: int = 0
    err_msg: str = ""
    data_model_inst_uri: str = ""
    supported_objs: tuple[SupportedObject, ...] = ()


@dataclass(frozen=True, slots=True)
class GetSupportedDMResp:
    """The answer to a GetSupportedDM."""

    MSG_TYPE: ClassVar[MsgType] = MsgType.GET_SUPPORTED_DM_RESP
    req_obj_results: tuple[RequestedObjectResult, ...]
