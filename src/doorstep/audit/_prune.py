"""Prune the oldest part of the trail without breaking verification.

Only a prefix of the chain that a checkpoint vouches for may go, and the chain
must verify after every commit.  One batch, in one transaction under the
sealer's lock (so sealing, checkpointing and pruning never interleave):

1. the *target* is the newest checkpoint taken before the cutoff; nothing
   newer than it is touched;
2. the batch is links ``first .. last`` with ``last = min(target, first + n - 1)``;
   ``first - 1`` is a checkpoint (or ``first`` is 1), so the batch's links are
   re-verified from that hash before anything is deleted: a broken chain is
   never pruned, it raises :class:`AuditChainBrokenError` and stays as evidence;
3. when ``last`` falls short of the target, a checkpoint at ``last`` is written
   (its hash was just verified), so the chain left behind starts after a
   checkpoint, as ``doorstep audit verify`` requires;
4. the links and their events are deleted in one statement under
   ``SET LOCAL doorstep.audit_prune = '<last>'``: the append-only triggers
   (migration 0008) let a DELETE through only then, only on ``audit_chain`` and
   ``audit_events``, only for links at or below a checkpoint at that seq, and
   never for an event still waiting to be sealed.  Checkpoints are never deleted.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session

from doorstep.audit import _seal
from doorstep.audit._chain import EVENT_COLUMNS, GENESIS, EventRow, link_hash
from doorstep.audit.exceptions import AuditChainBrokenError
from doorstep.core.clock import require_aware

#: The setting the append-only triggers read (migration 0008).
PRUNE_SETTING = "doorstep.audit_prune"

_SELECT_EVENT = ", ".join(f"e.{name}" for name in EVENT_COLUMNS)
_TARGET = sa.text("SELECT max(seq) FROM audit_checkpoints WHERE at < :cutoff")
_FIRST = sa.text("SELECT min(seq) FROM audit_chain")
_CHECKPOINT = sa.text("SELECT hash FROM audit_checkpoints WHERE seq = :seq")
_CHECKPOINTS = sa.text("SELECT seq, hash FROM audit_checkpoints WHERE seq BETWEEN :a AND :b")
# The f-string only splices in EVENT_COLUMNS, a constant of this package.
_LINKS = sa.text(
    f"SELECT c.seq, c.prev_hash, c.hash, {_SELECT_EVENT} FROM audit_chain c "  # noqa: S608
    "LEFT JOIN audit_events e ON e.id = c.event_id WHERE c.seq BETWEEN :a AND :b ORDER BY c.seq"
)
_ADD_CHECKPOINT = sa.text(
    "INSERT INTO audit_checkpoints (seq, hash, at) VALUES (:seq, :hash, coalesce(:at, now()))"
)
_ALLOW = sa.text("SELECT set_config(:name, :value, true)")
_DELETE = sa.text(
    "WITH links AS (DELETE FROM audit_chain WHERE seq BETWEEN :a AND :b RETURNING event_id) "
    "DELETE FROM audit_events e USING links WHERE e.id = links.event_id"
)


@dataclass(frozen=True)
class PruneBatch:
    """What one batch did: ``events`` deleted (one link each), links ``first``..``last``.

    ``target`` is the checkpoint the prune is heading for; the batch is the last
    one when ``last == target``.
    """

    events: int
    first: int
    last: int
    target: int

    @property
    def done(self) -> bool:
        """Whether the chain now starts right after the target checkpoint."""
        return self.last >= self.target


def prune_target(session: Session, cutoff: datetime) -> tuple[int, int] | None:
    """``(first, target)``: the chain's first link and the checkpoint to prune to, if any."""
    target = session.execute(_TARGET, {"cutoff": require_aware(cutoff)}).scalar()
    first = session.execute(_FIRST).scalar()
    if target is None or first is None or int(first) > int(target):
        return None
    return int(first), int(target)


def _verify(session: Session, first: int, last: int) -> bytes:
    """Re-walk links ``first..last`` from the checkpoint before them; return the last hash."""
    if first == 1:
        prev = GENESIS
    else:
        found = session.execute(_CHECKPOINT, {"seq": first - 1}).scalar()
        if found is None:
            raise AuditChainBrokenError(
                "the audit chain is broken; nothing was pruned",
                seq=first,
                reason="no checkpoint vouches for the links before the first one",
            )
        prev = bytes(found)
    checkpoints = {
        int(seq): bytes(digest)
        for seq, digest in session.execute(_CHECKPOINTS, {"a": first, "b": last})
    }
    expected = first
    for seq, prev_hash, stored, *event in session.execute(_LINKS, {"a": first, "b": last}):
        problem = ""
        if seq != expected:
            problem = "links are missing"
        elif bytes(prev_hash) != prev:
            problem = "prev_hash does not match the previous link"
        elif event[0] is None:
            problem = "the event of this link is missing"
        elif link_hash(prev, seq, EventRow(*event)) != bytes(stored):
            problem = "the event does not match the link's hash"
        elif seq in checkpoints and checkpoints[seq] != bytes(stored):
            problem = "the link's hash differs from the checkpoint taken at it"
        if problem:
            raise AuditChainBrokenError(
                "the audit chain is broken; nothing was pruned", seq=expected, reason=problem
            )
        prev = bytes(stored)
        expected += 1
    if expected != last + 1:
        raise AuditChainBrokenError(
            "the audit chain is broken; nothing was pruned", seq=expected, reason="links missing"
        )
    return prev


def prune_batch(
    session: Session, *, cutoff: datetime, batch_size: int, at: datetime | None = None
) -> PruneBatch | None:
    """Prune at most ``batch_size`` links (and their events) before ``cutoff``'s checkpoint.

    Runs in ``session``'s transaction, which the caller commits; returns None
    when nothing is left to prune.  ``at`` dates a checkpoint the batch writes.
    Raises :class:`AuditChainBrokenError` (deleting nothing) if the links to
    prune do not verify.
    """
    _seal.lock(session, wait=True)
    span = prune_target(session, cutoff)
    if span is None:
        return None
    first, target = span
    last = min(target, first + max(1, batch_size) - 1)
    digest = _verify(session, first, last)
    if last < target and session.execute(_CHECKPOINT, {"seq": last}).scalar() is None:
        session.execute(
            _ADD_CHECKPOINT,
            {"seq": last, "hash": digest, "at": require_aware(at) if at else None},
        )
    session.execute(_ALLOW, {"name": PRUNE_SETTING, "value": str(last)})
    deleted = session.execute(_DELETE, {"a": first, "b": last})
    session.execute(_ALLOW, {"name": PRUNE_SETTING, "value": ""})
    return PruneBatch(int(getattr(deleted, "rowcount", 0)), first, last, target)


def count_prunable(session: Session, cutoff: datetime) -> int:
    """How many events a prune at ``cutoff`` would delete now."""
    span = prune_target(session, cutoff)
    return 0 if span is None else span[1] - span[0] + 1
