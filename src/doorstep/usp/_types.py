"""Enums and small value types shared by several USP messages.

Every typed message is a frozen dataclass.  Fields that hold a ``Mapping`` keep a
plain dict: treat it as read-only (such objects are not hashable).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import IntEnum


class MsgType(IntEnum):
    """``usp.Header.MsgType``: the type of a Msg, derived from its body."""

    ERROR = 0
    GET = 1
    GET_RESP = 2
    NOTIFY = 3
    SET = 4
    SET_RESP = 5
    OPERATE = 6
    OPERATE_RESP = 7
    ADD = 8
    ADD_RESP = 9
    DELETE = 10
    DELETE_RESP = 11
    GET_SUPPORTED_DM = 12
    GET_SUPPORTED_DM_RESP = 13
    GET_INSTANCES = 14
    GET_INSTANCES_RESP = 15
    NOTIFY_RESP = 16
    GET_SUPPORTED_PROTO = 17
    GET_SUPPORTED_PROTO_RESP = 18
    REGISTER = 19
    REGISTER_RESP = 20
    DEREGISTER = 21
    DEREGISTER_RESP = 22


class ObjAccessType(IntEnum):
    """Access to an object in GetSupportedDMResp."""

    OBJ_READ_ONLY = 0
    OBJ_ADD_DELETE = 1
    OBJ_ADD_ONLY = 2
    OBJ_DELETE_ONLY = 3


class ParamAccessType(IntEnum):
    """Access to a parameter in GetSupportedDMResp."""

    PARAM_READ_ONLY = 0
    PARAM_READ_WRITE = 1
    PARAM_WRITE_ONLY = 2


class ParamValueType(IntEnum):
    """Type of a parameter's value in GetSupportedDMResp."""

    PARAM_UNKNOWN = 0
    PARAM_BASE_64 = 1
    PARAM_BOOLEAN = 2
    PARAM_DATE_TIME = 3
    PARAM_DECIMAL = 4
    PARAM_HEX_BINARY = 5
    PARAM_INT = 6
    PARAM_LONG = 7
    PARAM_STRING = 8
    PARAM_UNSIGNED_INT = 9
    PARAM_UNSIGNED_LONG = 10


class ValueChangeType(IntEnum):
    """Whether a ValueChange subscription on a parameter is honoured."""

    VALUE_CHANGE_UNKNOWN = 0
    VALUE_CHANGE_ALLOWED = 1
    VALUE_CHANGE_WILL_IGNORE = 2


class CmdType(IntEnum):
    """Whether a command runs synchronously or asynchronously."""

    CMD_UNKNOWN = 0
    CMD_SYNC = 1
    CMD_ASYNC = 2


@dataclass(frozen=True, slots=True)
class ParameterError:
    """A parameter that could not be set (Set, Add): ``param`` is relative to its object."""

    param: str
    err_code: int
    err_msg: str = ""


@dataclass(frozen=True, slots=True)
class OperationFailure:
    """A requested path that failed as a whole (Add, Delete, Register, Deregister)."""

    err_code: int
    err_msg: str = ""


@dataclass(frozen=True, slots=True)
class OutputArgs:
    """Output arguments of a command that completed."""

    output_args: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class CommandFailure:
    """A command that failed."""

    err_code: int
    err_msg: str = ""
