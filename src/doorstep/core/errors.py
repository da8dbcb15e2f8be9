"""Domain errors shared by every area.

Each error carries a stable ``code`` (the last segment of its problem type URI),
an HTTP status, a human title and structured ``fields`` that are safe to show:
ids, names of fields and rules, never a personal-data value.  One function in
:mod:`doorstep.core.problems` turns them into RFC 9457 responses.

Hierarchy::

    DoorstepError
    ├── ConfigurationError         settings or declarations are wrong; start-up stops
    ├── DatabaseUnavailableError   the database cannot be reached (names the host only)
    ├── InvalidInputError          400/422: input breaks a named rule
    ├── NotFoundError              404: no such thing (or not yours to see)
    ├── ConflictError              409: the state does not allow it
    ├── PermissionDeniedError      403: the caller may not do this
    │   └── PurposeRefusedError    the purpose gate said no
    └── RateLimitedError           429: too many attempts, retry later
"""

from __future__ import annotations

from typing import Any, ClassVar


class DoorstepError(Exception):
    """Base of all Doorstep errors.  ``detail`` must never hold personal data."""

    code: ClassVar[str] = "internal-error"
    status: ClassVar[int] = 500
    title: ClassVar[str] = "Internal error"

    def __init__(self, detail: str | None = None, **fields: Any) -> None:
        super().__init__(detail or self.title)
        self.detail = detail or self.title
        self.fields: dict[str, Any] = fields


class ConfigurationError(DoorstepError):
    """Settings, declarations or the policy pack are invalid."""

    code = "configuration-error"
    title = "Configuration error"


class DatabaseUnavailableError(DoorstepError):
    """The database could not be reached or is not ready."""

    code = "database-unavailable"
    status = 503
    title = "Database unavailable"


class InvalidInputError(DoorstepError):
    """Input breaks a rule; ``fields['errors']`` lists ``{field, rule}`` pairs."""

    code = "invalid-input"
    status = 422
    title = "Invalid input"

    @classmethod
    def of(cls, field: str, rule: str, detail: str, **fields: object) -> InvalidInputError:
        """The refusal of one field's value: ``errors`` names the field and the rule broken."""
        return cls(detail, errors=[{"field": field, "rule": rule}], **fields)


class NotFoundError(DoorstepError):
    """The thing does not exist, or the caller may not know that it does."""

    code = "not-found"
    status = 404
    title = "Not found"


class ConflictError(DoorstepError):
    """The current state does not allow the operation."""

    code = "conflict"
    status = 409
    title = "Conflict"


class PermissionDeniedError(DoorstepError):
    """The caller is not allowed to do this."""

    code = "permission-denied"
    status = 403
    title = "Permission denied"


class PurposeRefusedError(PermissionDeniedError):
    """A use of personal data was refused by the purpose gate."""

    code = "purpose-refused"
    title = "Use of personal data refused"


class RateLimitedError(DoorstepError):
    """Too many attempts; ``fields['retry_after']`` says when to try again (seconds)."""

    code = "rate-limited"
    status = 429
    title = "Too many requests"
