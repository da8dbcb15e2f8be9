"""Errors of the USP layer.

Messages and fields name rules, codes and field names only: never bytes of a
payload, a parameter value or an ``err_msg`` text from a device, which may hold
personal data (host names, MAC addresses, SSIDs).

Hierarchy::

    DoorstepError
    ├── InvalidInputError
    │   ├── UspDecodeError           bytes are not a usable USP Record or Msg;
    │   │                            ``code`` is the USP Record error code (7100, 7104 …)
    │   ├── UspEncodeError           a value cannot be put on the wire
    │   └── InvalidEndpointIdError   text is not a valid USP Endpoint ID
    └── UspResponseError             502: a device's answer is not the one expected
        ├── UspErrorResponse         the device answered with an Error Msg (``error``)
        └── UnexpectedResponseError  wrong message type or a msg_id that is not echoed
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from doorstep.core.errors import DoorstepError, InvalidInputError

if TYPE_CHECKING:
    from doorstep.usp._responses import ErrorMsg


class UspDecodeError(InvalidInputError):
    """Bytes that are not a usable USP Record or Msg.

    ``code`` is the USP Record error code a Controller reports back (for example in
    a DisconnectRecord): 7100 when the bytes do not parse, 7102 for an unsupported
    secure session, 7104 when they parse but a value is invalid.  ``reason`` is a
    fixed text of ours that names the rule, never content of the input.
    """

    code = "usp-decode-error"
    title = "Invalid USP data"

    def __init__(self, usp_code: int, reason: str) -> None:
        super().__init__(
            f"USP {usp_code}: {reason}",
            usp_code=int(usp_code),
            errors=[{"field": "record", "rule": reason}],
        )
        self.usp_code = int(usp_code)
        self.reason = reason


class UspEncodeError(InvalidInputError):
    """A value cannot be encoded (for example an error code outside fixed32)."""

    code = "usp-encode-error"
    title = "Value cannot be encoded as USP"


class InvalidEndpointIdError(InvalidInputError):
    """Text that is not a valid USP Endpoint ID; ``reason`` names the broken rule."""

    code = "invalid-endpoint-id"
    title = "Invalid USP Endpoint ID"

    def __init__(self, reason: str) -> None:
        super().__init__(
            f"invalid endpoint id: {reason}", errors=[{"field": "endpoint_id", "rule": reason}]
        )
        self.reason = reason


class UspResponseError(DoorstepError):
    """A device's answer to a request is not the one expected."""

    code = "usp-response-error"
    status = 502
    title = "Unexpected answer from the device"


class UspErrorResponse(UspResponseError):
    """The device answered with a USP Error Msg.

    ``error`` is the typed Error Msg.  Its ``err_msg`` texts and full paths stay on
    that object and out of ``detail`` and ``fields``: an agent may echo a rejected
    value in a text, and a search path may hold one (``Host.[HostName=="…"].``).
    ``fields['param_errors']`` names only the parameter (``"SSID"``) and its code.
    """

    code = "usp-error-response"
    title = "The device refused the request"

    def __init__(self, error: ErrorMsg) -> None:
        super().__init__(
            f"the device answered with USP error {error.err_code}",
            usp_code=error.err_code,
            param_errors=[
                {"param": _param_name(p.param_path), "usp_code": p.err_code}
                for p in error.param_errs
            ],
        )
        self.error = error


def _param_name(path: str) -> str:
    """The last segment of a parameter path, or "" if it could hold a search value."""
    name = path.rpartition(".")[2]
    return "" if any(ch in name for ch in '[]"=<>!') else name


class UnexpectedResponseError(UspResponseError):
    """The answer has the wrong message type, or does not echo the request's msg_id."""

    code = "usp-unexpected-response"
    title = "Unexpected answer from the device"
