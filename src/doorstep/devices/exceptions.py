"""Errors of the devices area; mapped to RFC 9457 problems by :mod:`doorstep.core.problems`.

Messages and fields carry ids, USP codes and parameter *names* only: never an
endpoint id, serial number, MAC, SSID, host name, claim code or password.

Hierarchy (besides the USP errors it reuses: DeviceTimeoutError 504,
DeviceOfflineError 503, MtpUnavailableError 503)::

    DoorstepError
    ├── NotFoundError
    │   └── DeviceNotFoundError        404: no such device bound to the caller
    ├── ConflictError
    │   └── DeviceAlreadyBoundError    409: another account owns the device
    ├── InvalidInputError
    │   ├── ClaimRejectedError         422: the claim code does not match
    │   ├── ProductFunctionError       422: the function does not exist for this product
    │   └── FunctionUnsupportedError   422: this device's data model lacks the function;
    │                                  ``function`` and the ``missing`` TR-181 path
    ├── RateLimitedError
    │   └── ClaimLockedError           429: too many wrong codes; ``retry_after``
    └── DeviceRefusedError             422: the device answered with a USP error;
        │                              ``usp_code`` and ``param_errors`` unchanged
        └── DevicePartlyAppliedError   422: a Set the device applied in part;
                                       ``applied`` and ``not_applied`` parameter names
"""

from __future__ import annotations

from typing import Any

from doorstep.core.errors import (
    ConflictError,
    DoorstepError,
    InvalidInputError,
    NotFoundError,
    RateLimitedError,
)


class DeviceNotFoundError(NotFoundError):
    """No device with that id is bound to the caller (or it does not exist)."""

    code = "device-not-found"
    title = "Device not found"


class DeviceAlreadyBoundError(ConflictError):
    """The device is bound to another account; it must be unbound there first."""

    code = "device-already-bound"
    title = "The device is bound to another account"


class ClaimRejectedError(InvalidInputError):
    """The claim code (typed or scanned) matches no device, or not the device named."""

    code = "claim-rejected"
    title = "The device code is not right"


class ProductFunctionError(InvalidInputError):
    """The function is not defined for this product type (CPE-I.iii.0)."""

    code = "field-not-allowed-for-product-type"
    title = "Not available for this product"


class ClaimLockedError(RateLimitedError):
    """Too many wrong claim codes; binding is refused until ``retry_after`` seconds pass."""

    code = "claim-locked"
    title = "Too many wrong device codes"


class DeviceRefusedError(DoorstepError):
    """The device refused the request with a USP error; its code is passed on unchanged.

    ``usp_code`` is the device's error code (7012 invalid value, 7013 not writable …);
    ``param_errors`` names each refused parameter by its last path segment with its
    own code, never its value.  Nothing was stored for the request.
    """

    code = "device-refused"
    status = 422
    title = "The device refused the request"

    def __init__(self, usp_code: int, param_errors: list[dict[str, Any]] | None = None) -> None:
        super().__init__(
            f"the device answered with USP error {usp_code}",
            usp_code=int(usp_code),
            param_errors=list(param_errors or []),
        )
        self.usp_code = int(usp_code)


class FunctionUnsupportedError(InvalidInputError):
    """The device does not support the function (its data model lacks a path).

    Known from discovery (GetSupportedDM, per model and firmware) or from the
    device's own per-path error to the request.  ``fields``: ``function`` (pppoe,
    wifi, wifi_scan, status, reboot) and ``missing``, the generic TR-181 path the
    device lacks (``Device.Hosts.Host.{i}.``); no value.
    """

    code = "device-function-unsupported"
    title = "This device does not offer this function"

    def __init__(self, function: str, missing: str, *, usp_code: int | None = None) -> None:
        extra: dict[str, Any] = {} if usp_code is None else {"usp_code": int(usp_code)}
        super().__init__(
            f"this device does not support {function}: its data model lacks {missing}",
            function=function,
            missing=missing,
            errors=[{"field": function, "rule": f"the device lacks {missing}"}],
            **extra,
        )
        self.function = function
        self.missing = missing


class DevicePartlyAppliedError(DeviceRefusedError):
    """The device applied some parameters of a Set and refused others.

    ``applied`` names the parameters now set on the device and ``not_applied`` the
    refused ones with their own USP codes (names only, never values).
    """

    code = "device-partly-applied"
    title = "The device applied only part of the change"

    def __init__(
        self, usp_code: int, param_errors: list[dict[str, Any]], applied: list[str]
    ) -> None:
        super().__init__(usp_code, param_errors)
        self.fields["applied"] = list(applied)
        self.fields["not_applied"] = list(param_errors)
        self.applied = list(applied)
