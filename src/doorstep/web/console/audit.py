"""The audit trail as the console shows it: its state, and a verification from the last checkpoint.

:func:`trail_state` reads only bounded things (index look-ups and the short
queue of events awaiting sealing): the first and last links of the chain, the
newest checkpoint, the newest event.  :func:`verify_trail` runs the audit
area's verifier from the newest checkpoint, as ``doorstep audit verify
--from-checkpoint`` does, and records that a staff member verified it
(``audit.verified``: counts and sequence numbers, never an event's content).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session

from doorstep.audit.models import AuditCheckpoint, AuditEvent, AuditLink, AuditPending
from doorstep.audit.services import VerifyReport, record, verify

PURPOSE = "security.audit"


@dataclass(frozen=True, slots=True)
class TrailState:
    """Where the trail stands: links, head, checkpoint, newest event and the sealing queue."""

    first_seq: int | None
    head_seq: int | None
    head_hash: str | None
    checkpoint_seq: int | None
    checkpoint_hash: str | None
    checkpoint_at: datetime | None
    newest_event: int | None
    newest_event_at: datetime | None
    unsealed: int

    @property
    def links(self) -> int:
        """How many links the chain holds (from its first to its head)."""
        if self.first_seq is None or self.head_seq is None:
            return 0
        return self.head_seq - self.first_seq + 1


def trail_state(session: Session) -> TrailState:
    """The state of the trail (read-only, index look-ups only)."""
    first = session.scalar(sa.select(sa.func.min(AuditLink.seq)))
    head = session.execute(
        sa.select(AuditLink.seq, AuditLink.hash).order_by(AuditLink.seq.desc()).limit(1)
    ).one_or_none()
    checkpoint = session.execute(
        sa.select(AuditCheckpoint.seq, AuditCheckpoint.hash, AuditCheckpoint.at)
        .order_by(AuditCheckpoint.seq.desc())
        .limit(1)
    ).one_or_none()
    newest = session.execute(
        sa.select(AuditEvent.id, AuditEvent.at).order_by(AuditEvent.id.desc()).limit(1)
    ).one_or_none()
    unsealed = session.scalar(sa.select(sa.func.count()).select_from(AuditPending)) or 0
    return TrailState(
        first_seq=first,
        head_seq=head.seq if head else None,
        head_hash=bytes(head.hash).hex() if head else None,
        checkpoint_seq=checkpoint.seq if checkpoint else None,
        checkpoint_hash=bytes(checkpoint.hash).hex() if checkpoint else None,
        checkpoint_at=checkpoint.at if checkpoint else None,
        newest_event=newest.id if newest else None,
        newest_event_at=newest.at if newest else None,
        unsealed=int(unsealed),
    )


def verify_trail(session: Session, *, now: datetime, actor: str) -> VerifyReport:
    """Verify the links since the newest checkpoint; record who verified and the result."""
    report = verify(session, from_checkpoint=True, now=now)
    record(
        session,
        action="audit.verified",
        actor=actor,
        purpose=PURPOSE,
        outcome="ok" if report.ok else "failed",
        details={
            "checked": report.checked,
            "start_seq": report.start_seq,
            "head_seq": report.head_seq,
            "first_broken": report.first_broken,
            "event": report.event_id,
        },
    )
    return report
