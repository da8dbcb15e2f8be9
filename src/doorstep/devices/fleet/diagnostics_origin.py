"""How a diagnostic run ends: its result kept or relayed, its state from its operation.

* :func:`finish_run` ends a run once (the first call wins; the row is locked): its
  state, the operation's reason and the device's code, and — when the pack stores the
  kind — its result; when it does not, the result stays out of the row and the host
  the caller gave is cleared.  Either way the waiting callers hear of it at the commit
  (:func:`.diagnostics_relay.publish`: the state, plus the result when not stored).
  The ``diagnostic`` handler calls it with the device's answer, in a transaction of its
  own, before it reports its operation done.
* :func:`on_done` is the origin callback of ``diagnostic`` operations (registered here
  with :func:`~.operations.register_origin`): in the operation's final transaction it
  ends a run the handler did not end — a refusal by the device, a timeout (the sweep),
  an unreachable device, a cancellation — with the operation's state and reason.

This module is listed for :data:`~.operations.ORIGIN_MODULES` so every executor and
the sweep have the callback (until then the entry points import it).
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from doorstep.devices.fleet.diagnostics_models import DiagnosticRun, RunState
from doorstep.devices.fleet.diagnostics_relay import publish
from doorstep.devices.fleet.operations import (
    DeviceOperation,
    OperationState,
    OriginKind,
    register_origin,
)

_STATES = {
    OperationState.SUCCEEDED: RunState.SUCCEEDED,
    OperationState.FAILED: RunState.FAILED,
    OperationState.CANCELLED: RunState.CANCELLED,
}


def finish_run(
    session: Session,
    run_id: uuid.UUID,
    state: RunState,
    *,
    now: datetime,
    result: Mapping[str, Any] | None = None,
    reason: str | None = None,
    usp_code: int | None = None,
) -> bool:
    """End the run (see the module docstring); False when it had ended already or is gone."""
    run = session.scalar(
        sa.select(DiagnosticRun).where(DiagnosticRun.id == run_id).with_for_update()
    )
    if run is None or run.finished_at is not None:
        return False
    run.state, run.reason, run.usp_code, run.finished_at = state, reason, usp_code, now
    if run.store:
        run.result = dict(result) if result is not None else None
    else:
        run.inputs = None
    session.flush()
    publish(session, run.id, state.value, None if run.store else result)
    return True


def on_done(session: Session, op: DeviceOperation) -> None:
    """End the operation's run with its state and reason, unless its handler did."""
    state = _STATES.get(op.state)
    if op.origin_id is None or state is None:
        return
    now = op.finished_at or op.created_at
    finish_run(session, op.origin_id, state, now=now, reason=op.reason, usp_code=op.usp_code)


register_origin(OriginKind.DIAGNOSTIC, on_done)
