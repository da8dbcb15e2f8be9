"""Asking for the removal of a subscriber's settings from a router, and reading how it went.

Decision 0042.  Three triggers, each in the caller's transaction:

* :func:`unbind_and_wipe` — the owner unbinds (API ``?wipe_settings=true``, the privacy
  center's form, on by default there): the purpose gate is asked for
  ``device.settings_removal`` first (a refusal changes nothing), then the binding ends
  as :func:`doorstep.devices.binding.unbind` ends it, then the removal is queued;
* :func:`mark_device` — staff mark a device ``returned`` (removal offered, on by
  default) or ``resold`` (always removed): an open binding ends with that reason (its
  PPPoE credentials deleted with it), audited for the owner;
* both call :func:`request_wipe`: one ``device_wipes`` row and one ``wipe_settings``
  operation (origin ``wipe``, deadline ``wipe_deadline_days``), which waits in the
  queue until the router is online.  A device that already has a removal pending gets
  no second one: the pending one is returned.

Reading: :func:`my_wipes` (the subscriber's own, through the purpose gate, for the
privacy center and the API), :func:`wipes_of_device` and :func:`failed_wipes` (staff),
:func:`removal_outcome`
(the sentence a deletion or account-closure confirmation adds), :func:`wipe_view`.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from doorstep.audit.entries import subject_actor, system_actor
from doorstep.audit.services import record
from doorstep.core.clock import Clock
from doorstep.core.errors import NotFoundError
from doorstep.core.settings import Settings
from doorstep.devices import binding
from doorstep.devices.access import owned_device, use
from doorstep.devices.fleet import wipe_words
from doorstep.devices.fleet.operations import OperationKind, OriginKind, queue_operations
from doorstep.devices.fleet.wipe_models import (
    PARTS,
    PURPOSE,
    DeviceWipe,
    PartOutcome,
    WipeState,
    WipeTrigger,
)
from doorstep.devices.fleet.wipe_plan import neutral_ssid
from doorstep.devices.models import BindingEnd, Device, DeviceBinding
from doorstep.privacy.purposes import PurposeGate

OPERATION_ACTOR = system_actor("devices.wipe")
"""The operation's actor: the row's ``requested_by`` says who asked."""
SUBSCRIBER = "subscriber"
ELEMENTS = ("device_wipes.device_id", "device_wipes.subject_id")
_ENDS = {WipeTrigger.RETURNED: BindingEnd.RETURNED, WipeTrigger.RESOLD: BindingEnd.RESOLD}


def request_wipe(
    session: Session,
    device_id: uuid.UUID,
    *,
    subject_id: uuid.UUID | None,
    trigger: WipeTrigger,
    requested_by: str,
    actor: str,
    settings: Settings,
    clock: Clock,
) -> DeviceWipe:
    """Queue the removal from ``device_id`` (or return the one pending); audited."""
    device = session.get(Device, device_id)
    if device is None:
        raise NotFoundError("no such device")
    pending = session.scalars(
        sa.select(DeviceWipe)
        .where(DeviceWipe.device_id == device_id, DeviceWipe.state == WipeState.PENDING)
        .limit(1)
    ).first()
    if pending is not None:
        return pending
    now = clock.now()
    wipe = DeviceWipe(
        id=uuid.uuid4(),
        device_id=device_id,
        subject_id=subject_id,
        trigger=trigger,
        mode=settings.wipe_mode,
        state=WipeState.PENDING,
        parts=dict.fromkeys(PARTS, PartOutcome.PENDING.value),
        requested_by=requested_by,
        requested_at=now,
    )
    session.add(wipe)
    session.flush()
    queue_operations(
        session,
        [device_id],
        OperationKind.WIPE_SETTINGS,
        {
            "wipe_id": str(wipe.id),
            "mode": settings.wipe_mode.value,
            "ssid": neutral_ssid(settings.wipe_ssid_prefix, device.endpoint_key),
        },
        purpose=PURPOSE,
        actor=OPERATION_ACTOR,
        origin_kind=OriginKind.WIPE,
        origin_id=wipe.id,
        deadline_seconds=settings.wipe_deadline_days * 86_400,
        clock=clock,
    )
    record(
        session,
        action="devices.wipe_requested",
        actor=actor,
        subject_id=subject_id,
        purpose=PURPOSE,
        details={
            "wipe_id": str(wipe.id),
            "device": str(device_id),
            "trigger": trigger.value,
            "mode": settings.wipe_mode.value,
        },
    )
    return wipe


def unbind_and_wipe(
    session: Session,
    gate: PurposeGate,
    *,
    subject_id: uuid.UUID,
    device_id: uuid.UUID,
    settings: Settings,
    clock: Clock,
) -> DeviceWipe:
    """The owner unbinds the device and asks for their settings to be removed from it."""
    owned_device(session, subject_id, device_id, lock=True)
    use(session, gate, subject_id, ELEMENTS, PURPOSE, action="devices.wipe_asked",
        details={"device": str(device_id)})  # fmt: skip
    binding.unbind(session, gate, subject_id=subject_id, device_id=device_id, now=clock.now())
    return request_wipe(
        session,
        device_id,
        subject_id=subject_id,
        trigger=WipeTrigger.UNBIND,
        requested_by=SUBSCRIBER,
        actor=subject_actor(subject_id),
        settings=settings,
        clock=clock,
    )


@dataclass(frozen=True, slots=True)
class Marked:
    """What marking a device did: whether a binding ended, and the removal (if any)."""

    device_id: uuid.UUID
    binding_ended: bool
    wipe: DeviceWipe | None


def mark_device(
    session: Session,
    device_id: uuid.UUID,
    mark: WipeTrigger,
    *,
    wipe: bool,
    actor: str,
    settings: Settings,
    clock: Clock,
) -> Marked:
    """Mark the device returned or resold (a resale always removes); see the module doc."""
    if mark not in _ENDS:
        raise ValueError("a device is marked returned or resold")
    if session.get(Device, device_id, with_for_update=True) is None:
        raise NotFoundError("no such device")
    wipe = wipe or mark is WipeTrigger.RESOLD
    now = clock.now()
    open_row = session.execute(
        sa.select(DeviceBinding.id, DeviceBinding.subject_id)
        .where(DeviceBinding.device_id == device_id, DeviceBinding.unbound_at.is_(None))
        .with_for_update()
    ).one_or_none()
    owner = open_row.subject_id if open_row is not None else None
    if open_row is not None:
        binding.end_binding(session, open_row.id, _ENDS[mark], now)
        record(
            session,
            action="devices.unbound",
            actor=actor,
            subject_id=owner,
            purpose=binding.BIND_PURPOSE,
            details={"device": str(device_id), "reason": _ENDS[mark].value},
        )
    record(
        session,
        action=f"devices.marked_{mark.value}",
        actor=actor,
        purpose=PURPOSE,
        details={"device": str(device_id), "bound": owner is not None, "wipe": wipe},
    )
    removal = None
    if wipe:
        removal = request_wipe(
            session,
            device_id,
            subject_id=owner,
            trigger=mark,
            requested_by=actor,
            actor=actor,
            settings=settings,
            clock=clock,
        )
    return Marked(device_id, open_row is not None, removal)


def wipes_of_subject(session: Session, subject_id: uuid.UUID) -> list[DeviceWipe]:
    """The subscriber's removals, newest first."""
    query = (
        sa.select(DeviceWipe)
        .where(DeviceWipe.subject_id == subject_id)
        .order_by(DeviceWipe.requested_at.desc(), DeviceWipe.id)
    )
    return list(session.scalars(query))


def my_wipes(
    session: Session, gate: PurposeGate, subject_id: uuid.UUID, wipe_id: uuid.UUID | None = None
) -> list[DeviceWipe]:
    """The subscriber's own removals (or the one ``wipe_id``), read through the gate, audited."""
    rows = [row for row in wipes_of_subject(session, subject_id) if wipe_id in (None, row.id)]
    if rows:
        use(session, gate, subject_id, ELEMENTS, PURPOSE, action="devices.wipes_read",
            details={"wipes": len(rows)})  # fmt: skip
    return rows


def wipes_of_device(session: Session, device_id: uuid.UUID, limit: int = 20) -> list[DeviceWipe]:
    """The device's newest removals (staff)."""
    query = (
        sa.select(DeviceWipe)
        .where(DeviceWipe.device_id == device_id)
        .order_by(DeviceWipe.requested_at.desc())
        .limit(limit)
    )
    return list(session.scalars(query))


def failed_wipes(
    session: Session, *, include_pending: bool = False, limit: int = 200
) -> list[DeviceWipe]:
    """Removals that failed (and, when asked, those still pending), oldest first: staff's list."""
    states: Sequence[WipeState] = (
        (WipeState.FAILED, WipeState.PENDING) if include_pending else (WipeState.FAILED,)
    )
    query = (
        sa.select(DeviceWipe)
        .where(DeviceWipe.state.in_(states))
        .order_by(DeviceWipe.requested_at, DeviceWipe.id)
        .limit(limit)
    )
    return list(session.scalars(query))


def removal_outcome(session: Session, subject_id: uuid.UUID, /) -> str | None:
    """The sentence (message id) a confirmation adds for the subject's removals; None if none."""
    return removal_outcomes(session, [subject_id])[subject_id]


def removal_outcomes(
    session: Session, subject_ids: Sequence[uuid.UUID], /
) -> dict[uuid.UUID, str | None]:
    """:func:`removal_outcome` of each of ``subject_ids``, in one query."""
    states: dict[uuid.UUID, list[str]] = {subject_id: [] for subject_id in subject_ids}
    found = session.execute(
        sa.select(DeviceWipe.subject_id, DeviceWipe.state).where(
            DeviceWipe.subject_id.in_(list(subject_ids))
        )
    )
    for subject_id, state in found:
        if subject_id is not None:  # the query asked for these subjects only
            states[subject_id].append(state.value)
    return {subject_id: wipe_words.summary(done) for subject_id, done in states.items()}


def wipe_view(wipe: DeviceWipe) -> dict[str, Any]:
    """A plain description (ids, codes, states, times; never the subject's id)."""

    def at(value: datetime | None) -> str | None:
        return value.isoformat() if value is not None else None

    return {
        "id": str(wipe.id),
        "device_id": str(wipe.device_id),
        "trigger": wipe.trigger.value,
        "mode": wipe.mode.value,
        "state": wipe.state.value,
        "parts": dict(wipe.parts or {}),
        "reason": wipe.reason,
        "usp_code": wipe.usp_code,
        "requested_at": at(wipe.requested_at),
        "finished_at": at(wipe.finished_at),
    }
