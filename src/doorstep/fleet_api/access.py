"""Who may call the fleet API: a signed-in staff member allowed ``manage_fleet``.

:data:`FleetStaff` is the dependency every route takes.  It reads the console session
(:data:`~doorstep.staff.auth.CurrentStaff`: no session is a 401 problem), then asks
:func:`~doorstep.staff.services.require_action` for ``manage_fleet`` in the request's
own transaction: another role, or a deactivated member, is a 403 problem whose refusal
is audited (the transaction rolls back, the refusal's record stays).  It runs before
the body's fields are checked, so a refused caller learns nothing of the input's rules.

:func:`reads_registration` is the console's rule for the fleet list's model and
firmware columns: a role reads them only with a read grant for ``device.maintenance``
(support; admin reads no subscriber data and sees them withheld).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends

from doorstep.devices.fleet.listing import ELEMENTS, PURPOSE
from doorstep.services import Services, SessionDep
from doorstep.staff.auth import CurrentStaff
from doorstep.staff.permissions import StaffAction, may_read
from doorstep.staff.services import Staff, require_action


@dataclass(frozen=True, slots=True)
class Acting:
    """The staff member calling, as ``require_action`` found them, and their audit actor."""

    staff: Staff
    actor: str


def fleet_staff(staff: CurrentStaff, session: SessionDep) -> Acting:
    """FastAPI dependency: the caller, once they may run fleet operations (else 403)."""
    allowed = require_action(session, staff.id, StaffAction.MANAGE_FLEET)
    return Acting(allowed, allowed.actor)


FleetStaff = Annotated[Acting, Depends(fleet_staff)]


def reads_registration(services: Services, staff: Staff) -> bool:
    """Whether ``staff``'s role may read the list's model and firmware for maintenance."""
    declarations = services.gate.declarations
    return all(
        element in declarations and may_read(staff.role, declarations[element], PURPOSE)
        for element in ELEMENTS
    )
