"""The app API of a subscriber's own diagnostics (issue 19 item 6), under ``/api/v1/devices``.

* ``POST /{device_id}/diagnostics`` — run a ping, trace route or speed test on my
  device: ``202`` with the run (``Location`` names it).  With ``Prefer: wait=N``
  (RFC 7240, at most ``diagnostics_wait_seconds``) the answer waits up to N seconds
  for the device: ``200`` with the result when it came (``Preference-Applied``), else
  ``202``.  A kind the pack does not store (a trace route, in the reference pack)
  reaches the app only this way.
* ``GET /{device_id}/diagnostics/{run_id}`` — the run's state and stored result.
* ``GET /{device_id}/diagnostics`` — my newest runs on the device.

Every route needs the signed-in owner; another account's device, or a run not theirs,
is a 404.  Bad input is a 422 problem and nothing is stored; a refusal of the purpose
gate (a restriction of processing) a 403, audited.  Included by the devices router
(:mod:`doorstep.devices.api`), which sets its prefix and lifespan.
"""

from __future__ import annotations

import re
import uuid
from typing import Annotated

from fastapi import APIRouter, Header, Response
from sqlalchemy.orm import Session

from doorstep.accounts.auth import CurrentSubscriber
from doorstep.audit.entries import subject_actor
from doorstep.devices.fleet.diagnostics import Context, Ground, start_run
from doorstep.devices.fleet.diagnostics_schemas import (
    DiagnosticRequest,
    DiagnosticRunList,
    DiagnosticRunOut,
)
from doorstep.devices.fleet.diagnostics_views import RunView, owner_runs
from doorstep.devices.fleet.diagnostics_wait import start_and_wait
from doorstep.services import ServicesDep, SessionDep

router = APIRouter(tags=["devices"])
_WAIT = re.compile(r"(?:^|[;,\s])wait\s*=\s*(\d{1,4})(?:$|[;,\s])", re.IGNORECASE)


def wait_of(prefer: str | None, cap: int) -> int:
    """Seconds of a ``Prefer: wait=N`` header, at most ``cap`` (0: no wait asked)."""
    found = _WAIT.search(prefer or "")
    return min(int(found.group(1)), cap) if found else 0


@router.post(
    "/{device_id}/diagnostics",
    status_code=202,
    summary="Run a diagnostic on my device",
    response_model=DiagnosticRunOut,
    responses={200: {"model": DiagnosticRunOut, "description": "Ended within Prefer: wait"}},
)
async def run_diagnostic(
    *,
    device_id: uuid.UUID,
    body: DiagnosticRequest,
    subscriber: CurrentSubscriber,
    services: ServicesDep,
    response: Response,
    prefer: Annotated[
        str | None,
        Header(description="wait=N: wait up to N seconds for the result (RFC 7240)."),
    ] = None,
) -> DiagnosticRunOut:
    """Ping or trace a host, or test the line's speed; ``Prefer: wait=N`` waits for it."""
    runtime = services.runtime
    context = Context.of(services)
    subject = subscriber.subject_id
    inputs = {"host": body.host} if body.host is not None else {}
    wait = wait_of(prefer, runtime.settings.diagnostics_wait_seconds)

    def start(session: Session) -> uuid.UUID:
        return start_run(
            session,
            device_id,
            body.kind,
            inputs,
            ground=Ground.owner(),
            actor=subject_actor(subject),
            context=context,
        )

    def read(session: Session, run_id: uuid.UUID) -> RunView:
        return owner_runs(session, services.gate, subject, device_id, run_id)[0]

    view = await start_and_wait(runtime, start, read, wait=wait)
    response.headers["Location"] = f"/api/v1/devices/{device_id}/diagnostics/{view.id}"
    if wait:
        response.headers["Preference-Applied"] = f"wait={wait}"
    if view.done:
        response.status_code = 200
    return DiagnosticRunOut.of(view)


@router.get("/{device_id}/diagnostics/{run_id}", summary="One diagnostic run on my device")
def get_diagnostic(
    device_id: uuid.UUID,
    run_id: uuid.UUID,
    subscriber: CurrentSubscriber,
    services: ServicesDep,
    session: SessionDep,
) -> DiagnosticRunOut:
    """The run's state and, once it ended, its result (when the pack stores the kind)."""
    found = owner_runs(session, services.gate, subscriber.subject_id, device_id, run_id)
    return DiagnosticRunOut.of(found[0])


@router.get("/{device_id}/diagnostics", summary="My diagnostic runs on the device")
def list_diagnostics(
    device_id: uuid.UUID, subscriber: CurrentSubscriber, services: ServicesDep, session: SessionDep
) -> DiagnosticRunList:
    """My newest runs on the device (results kept at most as long as the pack says)."""
    found = owner_runs(session, services.gate, subscriber.subject_id, device_id)
    return DiagnosticRunList(runs=[DiagnosticRunOut.of(view) for view in found])
