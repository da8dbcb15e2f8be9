"""The router of the fleet API: ``/api/v1/console/fleet`` (mounted by :mod:`doorstep.asgi`).

Every route needs a console session (401 problem without one) of a staff member allowed
``manage_fleet`` (support, admin; any other role is a 403 problem, and the refusal is
audited): :data:`~doorstep.fleet_api.access.FleetStaff`.  The routes are in
:mod:`.images` (firmware images, one device's update, one operation), :mod:`.devices`
(the device list, a device's technical view, tags), :mod:`.groups`, :mod:`.rollouts`
and :mod:`.bulk`; the routes each module answers are listed in its docstring and in
docs/devices.md ("Staff API").
"""

from __future__ import annotations

from fastapi import APIRouter

from doorstep.core.problems import problem_responses
from doorstep.fleet_api import bulk, devices, groups, images, rollouts

PREFIX = "/api/v1/console/fleet"
router = APIRouter(
    prefix=PREFIX,
    tags=["fleet"],
    responses=problem_responses(403),  # the role may not run fleet operations
)
for part in (images, devices, groups, rollouts, bulk):
    router.include_router(part.router)
