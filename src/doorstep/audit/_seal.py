"""The sealer: chain committed events in the order they are found, one sealer at a time.

Identity ids are handed out at INSERT, not at COMMIT, so "chain by id" would
miss an event whose transaction commits after a higher id was chained.  Instead
the sealer takes what is *committed* and not chained yet (``audit_pending``,
filled by a trigger in the recording transaction), appends links after the
current head, and removes those ids from ``audit_pending`` — all in its own
transaction, under a transaction-level advisory lock so two sealers never
compute the same ``seq``.  Chain order is therefore seal order: an event
committed late is simply sealed later, never skipped.  The primary key on
``seq`` and the unique ``event_id`` turn any misuse (say a sealer run in a stale
REPEATABLE READ snapshot) into an error rather than a fork or a double seal.
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session

from doorstep.audit import _buffer
from doorstep.audit._chain import EVENT_COLUMNS, GENESIS, EventRow, link_hash
from doorstep.core.clock import require_aware

#: pg_advisory_xact_lock key of the sealer ("AUDT").
SEAL_LOCK_KEY = 0x41554454
DEFAULT_BATCH = 10_000

_SELECT_EVENT = ", ".join(f"e.{name}" for name in EVENT_COLUMNS)
_LOCK = sa.text("SELECT pg_advisory_xact_lock(:key)")
_TRY_LOCK = sa.text("SELECT pg_try_advisory_xact_lock(:key)")
_CHAIN_HEAD = sa.text("SELECT seq, hash FROM audit_chain ORDER BY seq DESC LIMIT 1")
_CHECKPOINT_HEAD = sa.text("SELECT seq, hash FROM audit_checkpoints ORDER BY seq DESC LIMIT 1")
# The f-strings below only splice in EVENT_COLUMNS, a constant of this package.
_TAKE = sa.text(
    f"SELECT {_SELECT_EVENT} FROM audit_pending p JOIN audit_events e ON e.id = p.event_id "  # noqa: S608
    "ORDER BY p.event_id LIMIT :n"
)
_LINK = "COPY audit_chain (seq, event_id, prev_hash, hash) FROM STDIN"
_DONE = sa.text(
    "DELETE FROM audit_pending p USING audit_chain c "
    "WHERE c.seq > :after AND c.seq <= :upto AND p.event_id = c.event_id"
)
_CHECKPOINT = sa.text(
    "INSERT INTO audit_checkpoints (seq, hash, at) VALUES (:seq, :hash, coalesce(:at, now()))"
)


def lock(session: Session, *, wait: bool) -> bool:
    """Take the sealer's lock for the rest of the transaction; False if busy and not waiting."""
    if wait:
        session.execute(_LOCK, {"key": SEAL_LOCK_KEY})
        return True
    return bool(session.execute(_TRY_LOCK, {"key": SEAL_LOCK_KEY}).scalar_one())


def head(session: Session) -> tuple[int, bytes]:
    """``(seq, hash)`` of the last link (or of the newest checkpoint once links are pruned)."""
    row = session.execute(_CHAIN_HEAD).first() or session.execute(_CHECKPOINT_HEAD).first()
    return (int(row[0]), bytes(row[1])) if row else (0, GENESIS)


def seal(
    session: Session,
    *,
    wait: bool = True,
    batch_size: int = DEFAULT_BATCH,
    limit: int | None = None,
) -> int:
    """Chain every committed, unsealed event (at most ``limit``); return how many were sealed.

    Runs in ``session``'s transaction (use a fresh READ COMMITTED one) and takes
    the sealer lock until it ends: with ``wait=False`` a busy lock returns 0 at
    once.  Events buffered on ``session`` itself are written first.
    """
    _buffer.flush(session)
    if not lock(session, wait=wait):
        return 0
    seq, prev = head(session)
    sealed = 0
    while limit is None or sealed < limit:
        take = batch_size if limit is None else min(batch_size, limit - sealed)
        rows = session.execute(_TAKE, {"n": take}).all()
        if not rows:
            break
        after = seq
        links: list[tuple[int, int, bytes, bytes]] = []
        for row in rows:
            seq += 1
            digest = link_hash(prev, seq, EventRow(*row))
            links.append((seq, row[0], prev, digest))
            prev = digest
        _buffer.copy_rows(session, _LINK, links)
        session.execute(_DONE, {"after": after, "upto": seq})
        sealed += len(rows)
    return sealed


def write_checkpoint(session: Session, *, at: datetime | None = None) -> int | None:
    """Record the current head as a checkpoint; return its seq (None if nothing new).

    The caller must hold the sealer lock and have verified the links since the
    previous checkpoint: a checkpoint vouches for everything before it.
    """
    seq, digest = head(session)
    latest = session.execute(_CHECKPOINT_HEAD).first()
    if seq == 0 or (latest is not None and int(latest[0]) >= seq):
        return None
    session.execute(
        _CHECKPOINT, {"seq": seq, "hash": digest, "at": require_aware(at) if at else None}
    )
    return seq
