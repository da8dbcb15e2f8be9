"""Who owns the privacy desk's queue: the department the policy pack names (CPE-IX.1).

The reference policy says requests and complaints go to "a Data Protection
Compliance Department, a full-time personal information protection department"
(CPE IX); the pack names it as the controller's ``dpo:`` (datamap.yaml,
``controller:``).  Every request and inquiry is assigned at intake to that
department's queue: its key is stored on the row (``queue``), and views show
the key with the department's name as the pack in force spells it.  A pack
without a ``dpo:`` assigns to the controller's own queue.
"""

from __future__ import annotations

from dataclasses import dataclass

from doorstep.privacy.datamap.pack import PolicyPack

#: Queue key of the pack's data protection department (``controller.dpo``).
DPO_QUEUE = "dpo"
#: Queue key when the pack names a controller but no department.
CONTROLLER_QUEUE = "controller"


@dataclass(frozen=True, slots=True)
class Department:
    """The owner of a queue: its key, its name and where it is written to."""

    queue: str
    name: str
    email: str = ""


def department_of(pack: PolicyPack) -> Department:
    """The department that owns new requests and inquiries under ``pack``."""
    controller = pack.controller
    if controller is not None and controller.dpo is not None:
        return Department(DPO_QUEUE, controller.dpo.name, controller.dpo.email)
    if controller is not None:
        return Department(CONTROLLER_QUEUE, controller.name, controller.email)
    return Department(CONTROLLER_QUEUE, "Privacy desk")


def owner_of(pack: PolicyPack, queue: str) -> str:
    """The name of the department owning ``queue`` under ``pack`` (the key itself if unknown)."""
    department = department_of(pack)
    return department.name if department.queue == queue else queue
