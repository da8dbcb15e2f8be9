"""USP error codes (TR-369 1.4): Record errors 7100-7199 and Msg errors 7000-7099.

Codes travel as plain ``int`` in the typed messages, because agents may send codes
from the data-model (7200-7299) and vendor (7800-7999) ranges; compare them with
these enums (an ``IntEnum`` equals its ``int``) and describe any code with
:func:`describe`.
"""

from __future__ import annotations

from enum import IntEnum


class RecordErrorCode(IntEnum):
    """Errors about a Record as a whole (sent in a DisconnectRecord)."""

    NOT_PARSED = 7100
    SECURE_SESSION_REQUIRED = 7101
    SECURE_SESSION_NOT_SUPPORTED = 7102
    SEGMENTATION_NOT_SUPPORTED = 7103
    INVALID_RECORD_VALUE = 7104
    SESSION_CONTEXT_TERMINATED = 7105
    SESSION_CONTEXT_NOT_ALLOWED = 7106


class ErrorCode(IntEnum):
    """Errors about a Msg or one of its paths (``err_code`` fields)."""

    MESSAGE_FAILED = 7000
    NOT_SUPPORTED = 7001
    REQUEST_DENIED = 7002
    INTERNAL_ERROR = 7003
    INVALID_ARGUMENTS = 7004
    RESOURCES_EXCEEDED = 7005
    PERMISSION_DENIED = 7006
    INVALID_CONFIGURATION = 7007
    INVALID_PATH_SYNTAX = 7008
    PARAMETER_ACTION_FAILED = 7009
    UNSUPPORTED_PARAMETER = 7010
    INVALID_TYPE = 7011
    INVALID_VALUE = 7012
    NOT_WRITABLE = 7013
    VALUE_CONFLICT = 7014
    OPERATION_ERROR = 7015
    OBJECT_DOES_NOT_EXIST = 7016
    OBJECT_NOT_CREATED = 7017
    NOT_A_TABLE = 7018
    NOT_CREATABLE = 7019
    OBJECT_NOT_UPDATED = 7020
    REQUIRED_PARAMETER_FAILED = 7021
    COMMAND_FAILURE = 7022
    COMMAND_CANCELED = 7023
    DELETE_FAILURE = 7024
    DUPLICATE_KEY = 7025
    INVALID_PATH = 7026
    INVALID_COMMAND_ARGUMENTS = 7027


def describe(code: int) -> str:
    """A short English name for any USP error code, e.g. ``7012`` -> ``"invalid value"``."""
    for enum in (ErrorCode, RecordErrorCode):
        try:
            return enum(code).name.lower().replace("_", " ")
        except ValueError:
            continue
    ranges = (
        (7028, 7031, "register or deregister failure"),
        (7100, 7199, "record error"),
        (7200, 7299, "data-model defined error"),
        (7800, 7999, "vendor-specific error"),
    )
    for low, high, name in ranges:
        if low <= code <= high:
            return name
    return "success" if code == 0 else "unknown error"
