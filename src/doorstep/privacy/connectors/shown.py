"""Whether a staff role may be shown an identifier on the connected systems' console pages.

The desk's pages list ids, codes and instants; an identifier that names a person
— a completion event's record id (an order number, an account id), the e-mail
address a manual system is searched by — is shown only to a role the permission
matrix lets read that element for the privacy desk (``privacy.rights``), as
:func:`doorstep.staff.services.staff_read` decides.  Others see that something
is withheld.  The caller audits what it showed (counts, never values).
"""

from __future__ import annotations

from doorstep.privacy.purposes import PurposeGate
from doorstep.staff.models import StaffRole
from doorstep.staff.permissions import may_read

#: The purpose the desk reads identifiers for.
DESK_PURPOSE = "privacy.rights"


def may_see(gate: PurposeGate, role: StaffRole, element: str) -> bool:
    """Whether ``role`` may read ``element`` (a data-map element) for the privacy desk."""
    declaration = gate.declarations.get(element)
    return declaration is not None and may_read(role, declaration, DESK_PURPOSE)
