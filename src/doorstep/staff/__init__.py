"""Operator staff: least-privilege roles; every staff read of personal data is gated, audited.

Public surface::

    staff = add_staff(session, role="support", clock=clock, by=admin_id)
    staff_read(session, staff.id, subject_id, "accounts.email", "customer.support",
               gate=services.gate)
    deactivate_staff(session, staff.id, clock=clock, by=admin_id)

The permission matrix (:mod:`doorstep.staff.permissions`) narrows what the data
map allows; the purpose gate still decides every read.
"""

from doorstep.staff.exceptions import StaffPermissionDeniedError
from doorstep.staff.models import StaffMember, StaffRole
from doorstep.staff.permissions import (
    ACTIONS,
    READS,
    ReadGrant,
    StaffAction,
    may,
    may_read,
    validate_matrix,
)
from doorstep.staff.services import (
    Staff,
    StaffRead,
    add_staff,
    deactivate_staff,
    get_staff,
    list_staff,
    require_action,
    staff_read,
)

__all__ = [
    "ACTIONS",
    "READS",
    "ReadGrant",
    "Staff",
    "StaffAction",
    "StaffMember",
    "StaffPermissionDeniedError",
    "StaffRead",
    "StaffRole",
    "add_staff",
    "deactivate_staff",
    "get_staff",
    "list_staff",
    "may",
    "may_read",
    "require_action",
    "staff_read",
    "validate_matrix",
]
