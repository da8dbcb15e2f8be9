"""Firmware rollouts for fleet staff: create, follow, and the verbs (decision 0039).

* ``GET …/rollouts`` — the newest rollouts (state, totals; at most ``limit``);
* ``POST …/rollouts`` — make one (201): image, target, plan; a draft, or started at
  once with ``"start": true`` (its canary wave is queued in the same transaction).
  Bad input is one 422 problem naming every field and rule; an unknown image or group
  a 422 (``known_image``, ``known_group``); a target with no device the image applies
  to a 409 (``empty_target``) — nothing is stored in any of these cases;
* ``GET …/rollouts/{id}`` — one rollout: plan, state, totals, each wave's counts and
  the failures by reason and device error code (a handful of rows whatever the
  fleet's size: poll it to follow the rollout live);
* ``POST …/rollouts/{id}/start``, ``…/pause``, ``…/resume``, ``…/abort`` — the verbs
  (:mod:`doorstep.devices.fleet.rollouts`); a verb the state does not allow is a 409
  problem whose ``reason`` is the state, and nothing changes.

Every step is audited by the services with the staff member as actor.  Views carry
ids, versions, states and counts, never a device's identifiers.
"""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query, status
from sqlalchemy.orm import Session

from doorstep.core.problems import problem_responses
from doorstep.devices.fleet import rollouts as fleet_rollouts
from doorstep.devices.fleet.rollout_views import failure_breakdown, list_rollouts, rollout_view
from doorstep.fleet_api.access import FleetStaff
from doorstep.fleet_api.rollout_schemas import FleetRolloutIn, FleetRolloutList, FleetRolloutOut
from doorstep.services import ServicesDep, SessionDep

router = APIRouter()
#: What a verb answers besides the rollout: no such rollout, or its state forbids the verb.
VERB_PROBLEMS = problem_responses(404, 409)


def _show(session: Session, rollout_id: uuid.UUID) -> FleetRolloutOut:
    return FleetRolloutOut.of(
        rollout_view(session, rollout_id), failure_breakdown(session, rollout_id)
    )


@router.get("/rollouts", summary="Firmware rollouts, newest first")
def rollouts(
    acting: FleetStaff,
    session: SessionDep,
    limit: Annotated[int, Query(ge=1, le=500, description="At most this many.")] = 100,
) -> FleetRolloutList:
    """The newest rollouts with their plan, state and totals."""
    return FleetRolloutList(
        rollouts=[FleetRolloutOut.of(view) for view in list_rollouts(session, limit=limit)]
    )


@router.post(
    "/rollouts",
    status_code=status.HTTP_201_CREATED,
    summary="Make a firmware rollout",
    responses=problem_responses(409),  # empty_target: no device the image applies to
)
def create_rollout(
    body: FleetRolloutIn, acting: FleetStaff, services: ServicesDep, session: SessionDep
) -> FleetRolloutOut:
    """Store a draft rollout, or start it at once (``start``): its canary is queued."""
    clock = services.runtime.clock
    made = fleet_rollouts.create_rollout(session, body.spec(), actor=acting.actor, clock=clock)
    if body.start:
        fleet_rollouts.start_rollout(session, made.id, actor=acting.actor, clock=clock)
    return _show(session, made.id)


@router.get(
    "/rollouts/{rollout_id}", summary="One firmware rollout", responses=problem_responses(404)
)
def show_rollout(rollout_id: uuid.UUID, acting: FleetStaff, session: SessionDep) -> FleetRolloutOut:
    """Plan, state, totals, each wave's counts, and failures by reason and device code."""
    return _show(session, rollout_id)


@router.post("/rollouts/{rollout_id}/start", summary="Start a rollout", responses=VERB_PROBLEMS)
def start_rollout(
    rollout_id: uuid.UUID, acting: FleetStaff, services: ServicesDep, session: SessionDep
) -> FleetRolloutOut:
    """Freeze the target, plan the waves and open the canary (a draft only)."""
    clock = services.runtime.clock
    fleet_rollouts.start_rollout(session, rollout_id, actor=acting.actor, clock=clock)
    return _show(session, rollout_id)


@router.post("/rollouts/{rollout_id}/pause", summary="Pause a rollout", responses=VERB_PROBLEMS)
def pause_rollout(
    rollout_id: uuid.UUID, acting: FleetStaff, services: ServicesDep, session: SessionDep
) -> FleetRolloutOut:
    """Pause a running rollout: what is queued is withdrawn, devices in flight finish."""
    clock = services.runtime.clock
    fleet_rollouts.pause_rollout(session, rollout_id, actor=acting.actor, clock=clock)
    return _show(session, rollout_id)


@router.post("/rollouts/{rollout_id}/resume", summary="Resume a rollout", responses=VERB_PROBLEMS)
def resume_rollout(
    rollout_id: uuid.UUID, acting: FleetStaff, services: ServicesDep, session: SessionDep
) -> FleetRolloutOut:
    """Resume a paused rollout; resuming an automatic pause accepts that wave's failures."""
    clock = services.runtime.clock
    fleet_rollouts.resume_rollout(session, rollout_id, actor=acting.actor, clock=clock)
    return _show(session, rollout_id)


@router.post("/rollouts/{rollout_id}/abort", summary="Abort a rollout", responses=VERB_PROBLEMS)
def abort_rollout(
    rollout_id: uuid.UUID, acting: FleetStaff, services: ServicesDep, session: SessionDep
) -> FleetRolloutOut:
    """Abort: queued updates and devices not started are cancelled; in flight finish."""
    clock = services.runtime.clock
    fleet_rollouts.abort_rollout(session, rollout_id, actor=acting.actor, clock=clock)
    return _show(session, rollout_id)
