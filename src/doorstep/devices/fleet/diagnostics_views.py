"""What the app API, the pages and the command line show of diagnostic runs.

* :func:`runs_of` — a device's newest runs (of one owner, for the owner's own view);
  :func:`get_run` — one of them, or :class:`~doorstep.core.errors.NotFoundError`;
* :func:`owner_runs` — the same for a subscriber: the device must be bound to them (a
  404 otherwise), and the read of their results is checked by the purpose gate and
  audited (``devices.diagnostics_read``, ids only);
* :func:`with_relayed` — a view with the result a waiting caller was relayed (a kind
  the pack does not store).

A :class:`RunView`'s ``state`` is the run's once it ended, else its operation's:
``queued`` until a controller takes it, then ``running``.  ``result`` is None while
running, and always for a kind not stored (``stored`` False) unless relayed.
"""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from doorstep.core.errors import NotFoundError
from doorstep.devices.access import owned_device, use
from doorstep.devices.fleet.diagnostics_models import PURPOSE, DiagnosticRun, RunState
from doorstep.devices.fleet.operations import DeviceOperation, OperationState
from doorstep.privacy.purposes import PurposeGate

RESULT = "diagnostic_runs.result"
READ = "devices.diagnostics_read"
MAX_RUNS = 50


@dataclass(frozen=True, slots=True)
class RunView:
    """One run as shown: ids, kind, ground, state, the device's code, result, times."""

    id: uuid.UUID
    device_id: uuid.UUID
    kind: str
    state: str
    ground: str
    asked_by: str
    """``subscriber`` or ``staff``."""
    ticket: str | None
    host: str | None
    stored: bool
    result: Mapping[str, Any] | None
    reason: str | None
    usp_code: int | None
    created_at: datetime
    finished_at: datetime | None

    @property
    def done(self) -> bool:
        """Whether the run ended."""
        return self.finished_at is not None


def _state(run: DiagnosticRun, op_state: OperationState | None) -> str:
    if run.state is not RunState.QUEUED:
        return run.state.value
    if op_state in (OperationState.RUNNING, OperationState.WAITING):
        return "running"
    return "queued"


def view_of(run: DiagnosticRun, op_state: OperationState | None = None) -> RunView:
    """The view of ``run`` (``op_state``: its operation's state while it runs)."""
    host = (run.inputs or {}).get("host")
    return RunView(
        id=run.id,
        device_id=run.device_id,
        kind=run.kind.value,
        state=_state(run, op_state),
        ground=run.ground.value,
        asked_by="subscriber" if run.asked_by == "subscriber" else "staff",
        ticket=run.ground_ref if run.ground.value == "ticket" else None,
        host=str(host) if host else None,
        stored=run.store,
        result=dict(run.result) if run.result is not None else None,
        reason=run.reason,
        usp_code=run.usp_code,
        created_at=run.created_at,
        finished_at=run.finished_at,
    )


def _query(device_id: uuid.UUID, subject_id: uuid.UUID | None) -> sa.Select[Any]:
    query: sa.Select[Any] = (
        sa.select(DiagnosticRun, DeviceOperation.state)  # type: ignore[assignment]
        .outerjoin(DeviceOperation, DeviceOperation.id == DiagnosticRun.operation_id)
        .where(DiagnosticRun.device_id == device_id)
    )
    if subject_id is not None:
        query = query.where(DiagnosticRun.subject_id == subject_id)
    return query


def runs_of(
    session: Session,
    device_id: uuid.UUID,
    *,
    subject_id: uuid.UUID | None = None,
    limit: int = 20,
) -> list[RunView]:
    """The device's newest runs (only ``subject_id``'s, when given)."""
    query = _query(device_id, subject_id).order_by(DiagnosticRun.created_at.desc())
    rows = session.execute(query.limit(min(max(limit, 1), MAX_RUNS))).all()
    return [view_of(run, op_state) for run, op_state in rows]


def get_run(
    session: Session,
    device_id: uuid.UUID,
    run_id: uuid.UUID,
    *,
    subject_id: uuid.UUID | None = None,
) -> RunView:
    """One run of the device (of ``subject_id``, when given), or NotFoundError."""
    row = session.execute(_query(device_id, subject_id).where(DiagnosticRun.id == run_id)).first()
    if row is None:
        raise NotFoundError("no such diagnostic run on this device")
    return view_of(row[0], row[1])


def owner_runs(
    session: Session,
    gate: PurposeGate,
    subject_id: uuid.UUID,
    device_id: uuid.UUID,
    run_id: uuid.UUID | None = None,
    *,
    limit: int = 20,
) -> list[RunView]:
    """The subscriber's runs on their device (one, with ``run_id``); gated and audited."""
    owned_device(session, subject_id, device_id)
    if run_id is not None:
        found = [get_run(session, device_id, run_id, subject_id=subject_id)]
    else:
        found = runs_of(session, device_id, subject_id=subject_id, limit=limit)
    details: dict[str, str | int | bool | None] = {"device": str(device_id), "runs": len(found)}
    use(session, gate, subject_id, [RESULT], PURPOSE, action=READ, details=details)
    return found


def with_relayed(view: RunView, word: Mapping[str, Any] | None) -> RunView:
    """``view`` with the state and result a waiting caller was told (kinds not stored)."""
    if word is None:
        return view
    relayed = word.get("result")
    changes: dict[str, Any] = {}
    if isinstance(relayed, dict) and view.result is None:
        changes["result"] = relayed
    return dataclasses.replace(view, **changes) if changes else view
