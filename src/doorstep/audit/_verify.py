"""Re-walk the chain and say where it first breaks.

Checks, in this order (the first failure is the one reported):

1. the start: link 1 follows :data:`GENESIS`; a chain that starts later (after
   pruning) follows a checkpoint at the link before it;
2. every link in ``seq`` order: no missing ``seq``, ``prev_hash`` equals the
   previous link's hash (else links were reordered or rewritten), its event
   exists (else it was deleted), the hash recomputed from the event equals the
   stored one (else the event was edited), and a checkpoint at that ``seq``
   agrees;
3. no checkpoint lies beyond the last link (else the tail was deleted);
4. every event is either in a link or awaiting sealing (else its link was
   deleted), and every waiting id still has its event (else an unsealed event
   was deleted);
5. no event older than the grace period is still waiting (the sealer is not
   running: those events are not tamper-evident yet).

Checkpoints are read before the links: the chain only grows, so a checkpoint
written while we walk can never look like a truncation.  Reports carry ids,
sequence numbers, hashes and counts, never an event's content.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import Session

from doorstep.audit._chain import EVENT_COLUMNS, GENESIS, EventRow, link_hash

DEFAULT_GRACE = timedelta(minutes=10)
_STREAM = 10_000

_SELECT_EVENT = ", ".join(f"e.{name}" for name in EVENT_COLUMNS)
_CHECKPOINTS = sa.text("SELECT seq, hash FROM audit_checkpoints ORDER BY seq")
_FIRST_SEQ = sa.text("SELECT min(seq) FROM audit_chain")
# The f-string only splices in EVENT_COLUMNS, a constant of this package.
_LINKS = sa.text(
    f"SELECT c.seq, c.event_id, c.prev_hash, c.hash, {_SELECT_EVENT} FROM audit_chain c "  # noqa: S608
    "LEFT JOIN audit_events e ON e.id = c.event_id WHERE c.seq >= :start ORDER BY c.seq"
)
_UNLINKED = sa.text(
    "SELECT min(e.id) FROM audit_events e WHERE NOT EXISTS "
    "(SELECT 1 FROM audit_chain c WHERE c.event_id = e.id) AND NOT EXISTS "
    "(SELECT 1 FROM audit_pending p WHERE p.event_id = e.id)"
)
_DELETED_UNSEALED = sa.text(
    "SELECT min(p.event_id) FROM audit_pending p WHERE NOT EXISTS "
    "(SELECT 1 FROM audit_events e WHERE e.id = p.event_id)"
)
_WAITING = sa.text(
    "SELECT count(*), count(*) FILTER (WHERE e.at < coalesce(:now, now()) - :grace), "
    "min(e.id) FILTER (WHERE e.at < coalesce(:now, now()) - :grace) "
    "FROM audit_pending p JOIN audit_events e ON e.id = p.event_id"
)


@dataclass(frozen=True)
class VerifyReport:
    """The outcome of :func:`verify`.

    ``first_broken`` is the ``seq`` of the first broken link when the break is in
    the chain; ``event_id`` names the event concerned when one is known (for an
    event that lost its link, or was deleted before sealing, ``first_broken`` is
    None and ``event_id`` says which).  ``checked`` counts links verified;
    ``head_seq``/``head_hash`` describe the last good link, to anchor elsewhere.
    """

    ok: bool
    checked: int
    first_broken: int | None
    reason: str
    event_id: int | None = None
    start_seq: int = 1
    head_seq: int = 0
    head_hash: str = ""
    unsealed: int = 0


@dataclass
class _Walk:
    start: int
    checked: int = 0
    head_seq: int = 0
    head_hash: bytes = GENESIS
    broken_at: int | None = None
    event_id: int | None = None
    reason: str = ""


def _start(
    session: Session, checkpoints: dict[int, bytes], from_checkpoint: bool
) -> tuple[int, bytes, str]:
    """First seq to check, the hash it must follow, and a reason when the start is broken."""
    if from_checkpoint and checkpoints:
        newest = max(checkpoints)
        return newest + 1, checkpoints[newest], ""
    found = session.execute(_FIRST_SEQ).scalar()
    if found is None:  # no links at all: nothing sealed yet, or all pruned to a checkpoint
        newest = max(checkpoints, default=0)
        return newest + 1, checkpoints.get(newest, GENESIS), ""
    first = int(found)
    if first == 1:
        return 1, GENESIS, ""
    if first - 1 in checkpoints:
        return first, checkpoints[first - 1], ""
    below = [seq for seq in checkpoints if seq < first]
    missing = max(below) + 1 if below else 1
    return (
        missing,
        GENESIS,
        f"links {missing} to {first - 1} are missing and no checkpoint vouches for them",
    )


def walk(session: Session, *, from_checkpoint: bool = False) -> _Walk:
    """Check the links (steps 1 to 3 of the module docstring)."""
    checkpoints = {int(s): bytes(h) for s, h in session.execute(_CHECKPOINTS).all()}
    start, prev, problem = _start(session, checkpoints, from_checkpoint)
    result = _Walk(start=start, head_seq=start - 1, head_hash=prev)
    if problem:
        result.broken_at, result.reason = start, problem
        return result
    expected = start
    rows = session.execute(_LINKS, {"start": start}, execution_options={"yield_per": _STREAM})
    for found, event_id, prev_hash, stored, *event in rows:
        seq, problem = expected, ""
        if found != expected:
            problem = f"links {expected} to {found - 1} are missing (deleted from audit_chain)"
        elif bytes(prev_hash) != prev:
            problem = "prev_hash does not match the previous link (links reordered or rewritten)"
        elif event[0] is None:
            problem = "the event of this link is missing (deleted from audit_events)"
        elif link_hash(prev, seq, EventRow(*event)) != bytes(stored):
            problem = "the event does not match the link's hash (edited, or links reordered)"
        elif seq in checkpoints and checkpoints[seq] != bytes(stored):
            problem = "the link's hash differs from the checkpoint taken at it (chain rewritten)"
        if problem:
            result.broken_at, result.reason = seq, problem
            result.event_id = event_id if found == expected else None  # a missing link's is unknown
            rows.close()
            return result
        prev = bytes(stored)
        result.checked += 1
        result.head_seq, result.head_hash = seq, prev
        expected += 1
    beyond = [seq for seq in checkpoints if seq > result.head_seq]
    if beyond:
        result.broken_at = result.head_seq + 1
        result.reason = (
            f"links after {result.head_seq} are missing; "
            f"a checkpoint vouches for link {max(beyond)}"
        )
    return result


def verify(
    session: Session,
    *,
    from_checkpoint: bool = False,
    now: datetime | None = None,
    unsealed_grace: timedelta = DEFAULT_GRACE,
) -> VerifyReport:
    """Re-walk the whole chain (or, with ``from_checkpoint``, from the newest checkpoint).

    ``now`` (default: the database's) and ``unsealed_grace`` decide which waiting
    events are overdue.  Read-only; run it in a REPEATABLE READ transaction for
    one consistent picture (the CLI does), though READ COMMITTED never reports a
    false break.
    """
    chain = walk(session, from_checkpoint=from_checkpoint)
    waiting, overdue, oldest = session.execute(
        _WAITING, {"now": now, "grace": unsealed_grace}
    ).one()

    def report(ok: bool, reason: str, first: int | None, event: int | None) -> VerifyReport:
        return VerifyReport(
            ok=ok,
            checked=chain.checked,
            first_broken=first,
            reason=reason,
            event_id=event,
            start_seq=chain.start,
            head_seq=chain.head_seq,
            head_hash=chain.head_hash.hex(),
            unsealed=int(waiting),
        )

    if chain.broken_at is not None:
        return report(False, chain.reason, chain.broken_at, chain.event_id)
    unlinked = session.execute(_UNLINKED).scalar()
    if unlinked is not None:
        reason = "an event is in no link and not awaiting sealing (its link was deleted)"
        return report(False, reason, None, int(unlinked))
    deleted = session.execute(_DELETED_UNSEALED).scalar()
    if deleted is not None:
        return report(False, "an event awaiting sealing was deleted", None, int(deleted))
    if overdue:
        reason = (
            f"{overdue} events older than {unsealed_grace} are not sealed yet "
            "(is the sealer running? `doorstep audit seal`)"
        )
        return report(False, reason, None, int(oldest))
    return report(True, "ok", None, None)
