"""How a removal hears its operation's end, and how the subscriber is told (decision 0042).

* :func:`on_wipe_done` — registered for origin ``wipe`` (``operations.ORIGIN_MODULES``
  lists this module, so every executor and the fleet sweep have it): in the
  operation's final transaction it copies the outcome to the ``device_wipes`` row
  (state, parts, reason, the router's code, the mode used), audits
  ``devices.wipe_done`` or ``devices.wipe_failed`` (ids, codes and part states; this
  is how staff hear of a failure, besides ``doorstep devices wipes`` and the console's
  list), and queues the confirmation job for the subscriber.
* :func:`confirm` (job ``devices.wipe_confirmation``, the wipe's id its only argument)
  — the subscriber is told, at the account's address read through the purpose gate
  for ``privacy.rights``, in the account's language: ``device.settings_removed`` or
  ``device.settings_not_removed``, with the date the router left them and a sentence
  of :mod:`.wipe_words`.  Nobody is told when the subject was erased (the link is
  empty), the account is closed (its closure notice said where the removal stood) or
  it has no address; a confirmation is sent once (``notified_at``).

The composition root lists this module among its task modules, and importing it
registers the ``wipe_settings`` handler too (:mod:`.wipe_handler`): every process
(controller, serve, worker) has both, whatever ``handlers.MODULES`` and
``ORIGIN_MODULES`` list.
"""

from __future__ import annotations

import logging
import uuid

from sqlalchemy.orm import Session

from doorstep.accounts.account.models import Account, AccountStatus
from doorstep.audit.entries import system_actor
from doorstep.audit.services import record
from doorstep.core.clock import Clock
from doorstep.core.errors import PurposeRefusedError
from doorstep.core.settings.wipe import WipeMode
from doorstep.devices.fleet import wipe_handler as _wipe_handler  # noqa: F401 (registers it)
from doorstep.devices.fleet import wipe_words
from doorstep.devices.fleet.operations import (
    DeviceOperation,
    OperationState,
    OriginKind,
    register_origin,
)
from doorstep.devices.fleet.wipe_models import PARTS, PURPOSE, DeviceWipe, WipeState
from doorstep.jobs.enqueue import enqueue
from doorstep.jobs.registry import JobContext, job
from doorstep.notify.services import queue_email, queue_sms
from doorstep.privacy.purposes import PurposeGate

log = logging.getLogger("doorstep.devices.fleet")

CONFIRM_TASK = "devices.wipe_confirmation"
ACTOR = system_actor("devices.wipe")
NOTICE_PURPOSE = "privacy.rights"
REMOVED = "device.settings_removed"
NOT_REMOVED = "device.settings_not_removed"


def on_wipe_done(session: Session, op: DeviceOperation) -> None:
    """Copy the operation's outcome to its removal, audit it, queue the confirmation."""
    if op.origin_id is None:
        return
    wipe = session.get(DeviceWipe, op.origin_id, with_for_update=True)
    if wipe is None or wipe.state is not WipeState.PENDING:
        return
    result = dict(op.result or {})
    parts = result.get("parts")
    if isinstance(parts, dict):
        wipe.parts = {part: str(parts.get(part, wipe.parts.get(part))) for part in PARTS}
    if result.get("mode") in {mode.value for mode in WipeMode}:
        wipe.mode = WipeMode(result["mode"])
    ok = op.state is OperationState.SUCCEEDED
    wipe.state = WipeState.SUCCEEDED if ok else WipeState.FAILED
    wipe.reason = None if ok else op.reason
    wipe.usp_code = op.usp_code
    wipe.finished_at = op.finished_at
    session.flush()
    record(
        session,
        action="devices.wipe_done" if ok else "devices.wipe_failed",
        actor=ACTOR,
        subject_id=wipe.subject_id,
        purpose=PURPOSE,
        outcome="ok" if ok else "failed",
        details={
            "wipe_id": str(wipe.id),
            "device": str(wipe.device_id),
            "trigger": wipe.trigger.value,
            "mode": wipe.mode.value,
            "reason": wipe.reason,
            "usp_code": wipe.usp_code,
            **{part: wipe.parts.get(part) for part in PARTS},
        },
    )
    if not ok:
        log.warning(
            "settings removal failed",
            extra={"wipe": str(wipe.id), "device": str(wipe.device_id), "reason": wipe.reason},
        )
    if wipe.subject_id is not None:
        enqueue(session, CONFIRM_TASK, wipe_id=str(wipe.id))


def confirm(session: Session, gate: PurposeGate, wipe_id: uuid.UUID, *, clock: Clock) -> bool:
    """Tell the subscriber how the removal ended (see the module docstring); whether queued."""
    wipe = session.get(DeviceWipe, wipe_id, with_for_update=True)
    if wipe is None or wipe.subject_id is None or wipe.notified_at is not None:
        return False
    if wipe.state is WipeState.PENDING:
        return False
    account = session.get(Account, wipe.subject_id)
    if account is None or account.status is AccountStatus.DEREGISTERED:
        return False
    if account.email is None and account.phone is None:
        return False
    element = "accounts.email" if account.email is not None else "accounts.phone"
    try:
        gate.for_subject(session, wipe.subject_id, actor=ACTOR).check(
            element, NOTICE_PURPOSE, audit=True, details={"wipe_id": str(wipe.id)}
        )
    except PurposeRefusedError:  # audited by the gate
        return False
    ok = wipe.state is WipeState.SUCCEEDED
    params = {
        "removed": wipe.requested_at.date().isoformat(),
        "outcome": wipe_words.succeeded_outcome(wipe.parts, wipe.mode.value)
        if ok
        else wipe_words.failed_outcome(wipe.reason),
    }
    template = REMOVED if ok else NOT_REMOVED
    queue = queue_email if account.email is not None else queue_sms
    queue(
        session,
        subject_id=wipe.subject_id,
        to=account.email or account.phone or "",
        template=template,
        params=params,
        clock=clock,
        locale=account.language,
    )
    wipe.notified_at = clock.now()
    return True


@job(CONFIRM_TASK)
def _confirm_job(ctx: JobContext, wipe_id: str) -> bool:
    from doorstep.services import services_for

    runtime = ctx.runtime
    gate = services_for(runtime).gate
    with runtime.sessions.begin() as session:
        return confirm(session, gate, uuid.UUID(wipe_id), clock=runtime.clock)


register_origin(OriginKind.WIPE, on_wipe_done)
