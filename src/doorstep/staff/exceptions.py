"""Errors of staff access control.

Hierarchy::

    DoorstepError
    └── PermissionDeniedError
        └── StaffPermissionDeniedError   the role (or an inactive account) does not allow it
"""

from __future__ import annotations

from typing import Any

from doorstep.audit.entries import AuditEntry
from doorstep.core.errors import PermissionDeniedError


class StaffPermissionDeniedError(PermissionDeniedError):
    """Staff access control said no; carries the audit entry already written for it.

    ``fields`` hold only names and codes: ``reason`` (``role_not_permitted``,
    ``staff_inactive``), and ``element``/``purpose`` or ``action``.
    """

    code = "staff-permission-denied"
    title = "Not allowed for this staff role"

    def __init__(self, detail: str, entry: AuditEntry, **fields: Any) -> None:
        super().__init__(detail, **fields)
        self.audit_entry = entry
