"""The daily alert: every lapsed control is recorded once in the audit trail and told to the desk.

:func:`alert_lapsed` reads the register as of today (rows locked, those another
worker holds skipped), and for each control whose evidence has lapsed —
overdue, expired, or none recorded — and whose lapse (state and due date) was
not alerted before, it records ``controls.overdue`` (the control's id, kind,
state and due date) and, when the pack names a desk address
(``controls.desk``), queues the ``controls.overdue`` e-mail to it naming the
control and the claims of the notice it leaves unsupported.  A control found
current again is reset, so its next lapse is alerted again.  It runs in the
caller's transaction: the alert, its audit event and its e-mail commit together.

The desk's e-mail is about no data subject: its outbox row carries a random id
of its own as ``subject_id`` (decision 0024).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from sqlalchemy.orm import Session

from doorstep.audit.entries import system_actor
from doorstep.audit.services import record
from doorstep.core.clock import Clock
from doorstep.notify.services import queue_email
from doorstep.privacy.controls.models import Control
from doorstep.privacy.controls.status import ControlStatus, claim_status, register_status
from doorstep.privacy.datamap.pack_controls import ControlsPolicy

ALERT_TASK = "controls.alert_overdue"
ACTOR = system_actor(ALERT_TASK)
TEMPLATE = "controls.overdue"


@dataclass(frozen=True, slots=True)
class Alerted:
    """What one run did: the controls alerted, and how many e-mails it queued."""

    controls: tuple[uuid.UUID, ...]
    emails: int


def _claims_of(status: ControlStatus, flagged: dict[str, list[uuid.UUID | None]]) -> list[str]:
    return sorted(code for code, ids in flagged.items() if status.id in ids)


def alert_lapsed(session: Session, policy: ControlsPolicy, clock: Clock) -> Alerted:
    """Alert each lapse not alerted yet (audit event, and an e-mail to the desk if any)."""
    statuses = register_status(session, policy, clock.now().date(), lock=True)
    flagged = {
        item.code: [lapse.control_id for lapse in item.lapses]
        for item in claim_status(statuses, policy)
        if not item.supported
    }
    alerted: list[uuid.UUID] = []
    emails = 0
    for status in statuses:
        control = session.get(Control, status.id)
        assert control is not None  # locked above
        if not status.lapsed:
            control.alerted_key = None
            continue
        if control.alerted_key == status.alert_key:
            continue
        control.alerted_key = status.alert_key
        claims = _claims_of(status, flagged)
        record(
            session,
            action="controls.overdue",
            actor=ACTOR,
            details={
                "control": str(status.id),
                "kind": status.kind.value,
                "state": status.state.value,
                "due": status.due.isoformat() if status.due else None,
                "claims": len(claims),
            },
        )
        if policy.desk:
            queue_email(
                session,
                subject_id=uuid.uuid4(),
                to=policy.desk,
                template=TEMPLATE,
                params={
                    "control": status.name,
                    "kind": status.kind.value,
                    "state": status.state.value,
                    "due": status.due.isoformat() if status.due else "-",
                    "claims": ", ".join(claims) or "-",
                },
                clock=clock,
            )
            emails += 1
        alerted.append(status.id)
    session.flush()
    return Alerted(tuple(alerted), emails)
