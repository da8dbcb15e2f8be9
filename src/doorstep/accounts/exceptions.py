"""Errors of the accounts area.  None carries an e-mail address, number, password or token.

Errors marked ``keeps_changes`` record a failed attempt (a wrong code, a wrong
password, a rate-limit hit) that must survive the error: the accounts API
commits the transaction before answering with them (see :mod:`.attempts`).

Hierarchy::

    DoorstepError
    ├── AuthenticationFailedError   401  wrong identifier or password (keeps changes)
    ├── InvalidInputError
    │   └── InvalidCodeError        422  wrong, expired or used-up code (keeps changes)
    ├── PermissionDeniedError
    │   ├── AccountNotUsableError   403  pending, awaiting_guardian or locked
    │   ├── SelfServiceEditError    403  only the password is edited directly (CPE-V.2)
    │   └── TokenReleaseRefusedError 403 a service the subscriber did not choose
    ├── ConflictError
    │   ├── AccountDeregisteredError 409 the account is closed (CPE-I.i.1.b)
    │   └── DevicesBoundError       409  devices still bound (CPE-V.5.c)
    └── RateLimitedError
        └── TooManyAttemptsError    429  lockout or rate limit (keeps changes)
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar

from doorstep.audit.entries import AuditEntry
from doorstep.core.errors import (
    ConflictError,
    DoorstepError,
    InvalidInputError,
    PermissionDeniedError,
    RateLimitedError,
)


class KeepsChanges:
    """Mixin: the transaction is committed before this error is answered."""

    keeps_changes: ClassVar[bool] = True


class AuthenticationFailedError(KeepsChanges, DoorstepError):
    """The identifier and password do not match an account that may sign in."""

    code = "authentication-failed"
    status = 401
    title = "Authentication failed"


class InvalidCodeError(KeepsChanges, InvalidInputError):
    """A one-time code is wrong, expired or used up (the same answer for an unknown account)."""

    def __init__(self, detail: str | None = None, **fields: Any) -> None:
        super().__init__(
            detail or "The code is wrong or has expired; ask for a new one if needed.",
            errors=[{"field": "code", "rule": "invalid_code"}],
            **fields,
        )


class TooManyAttemptsError(KeepsChanges, RateLimitedError):
    """A lockout or rate limit is in force; ``retry_after`` says for how many seconds."""

    def __init__(self, retry_after: int, *, scope: str) -> None:
        super().__init__(
            f"Too many attempts; try again in {max(1, retry_after)} seconds.",
            retry_after=max(1, retry_after),
            scope=scope,
        )


class AccountNotUsableError(PermissionDeniedError):
    """The account exists but may not sign in yet (or any more); ``reason`` says why.

    ``audit_entry`` carries a purpose-gate refusal to keep on record (a child's account).
    """

    code = "account-not-usable"
    title = "Account cannot be used"
    audit_entry: AuditEntry | None = None


class SelfServiceEditError(PermissionDeniedError):
    """Registration data other than the password is corrected through a request (CPE-V.2)."""

    code = "self-service-edit-limited"
    title = "Only the password can be changed here"


class TokenReleaseRefusedError(PermissionDeniedError):
    """A Doorstep service asked for a provider token the subscriber did not share with it."""

    code = "token-release-refused"
    title = "Token not shared with this service"

    def __init__(self, entry: AuditEntry, detail: str, **fields: Any) -> None:
        super().__init__(detail, **fields)
        self.audit_entry = entry


class AccountDeregisteredError(ConflictError):
    """The account was deregistered: nothing may use its data any more (CPE-I.i.1.b)."""

    code = "account-deregistered"
    title = "Account deregistered"

    def __init__(self, detail: str | None = None) -> None:
        super().__init__(
            detail or "The account was deregistered; its data is no longer used.",
            reason="account_deregistered",
        )


class DevicesBoundError(KeepsChanges, ConflictError):
    """Deregistration waits until no device is bound (CPE-V.5.c); lists the devices.

    Keeps changes: the refusal's audit record is all the transaction holds.
    """

    code = "devices-bound"
    title = "Devices still bound"

    def __init__(self, device_ids: Sequence[str]) -> None:
        super().__init__(
            f"Unbind these {len(device_ids)} device(s) in the app (Devices > the device > "
            "Unbind) before deregistering: " + ", ".join(device_ids),
            reason="devices_bound",
            device_ids=list(device_ids),
            how_to_unbind="DELETE /api/v1/devices/{device_id}/binding (add ?wipe_settings=true "
            "to remove your settings from the device too), or Unbind in the app",
        )


def keeps_changes(exc: BaseException) -> bool:
    """Whether ``exc`` asks for the transaction to be committed before it is answered."""
    return isinstance(exc, KeepsChanges)


def invalid(*pairs: tuple[str, str], detail: str | None = None) -> InvalidInputError:
    """An :class:`InvalidInputError` naming each ``(field, rule)``."""
    return InvalidInputError(
        detail or "The request does not satisfy the rules named in 'errors'.",
        errors=[{"field": field, "rule": rule} for field, rule in pairs],
    )
