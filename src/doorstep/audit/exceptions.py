"""Errors of the audit trail.

Hierarchy::

    ValueError
    └── UnsafeAuditValueError    a field of record() is not an id or a name (might be personal data)
    DoorstepError
    └── ConflictError
        └── AuditChainBrokenError  the chain does not verify, so no checkpoint may vouch for it
"""

from __future__ import annotations

from doorstep.core.errors import ConflictError


class UnsafeAuditValueError(ValueError):
    """A value given to :func:`~doorstep.audit.services.record` is not an id or a name.

    This is a programming error: the trail holds ids and names only, never a
    personal-data value.  The message names the field, never the value.
    """

    def __init__(self, field: str, rule: str) -> None:
        super().__init__(f"audit field {field!r} {rule}")
        self.field = field
        self.rule = rule


class AuditChainBrokenError(ConflictError):
    """The audit chain does not verify; ``fields`` hold the ``seq`` and the ``reason``."""

    code = "audit-chain-broken"
    title = "Audit chain broken"
