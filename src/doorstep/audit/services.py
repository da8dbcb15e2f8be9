"""The audit trail's public API: record, seal, checkpoint, verify.

* :func:`record` — note one event in the caller's transaction.  Events are
  buffered on the session and written together (one statement) before the
  transaction commits, so they commit or roll back with the change they
  describe, and a transaction that records a hundred events pays one round trip.
* :func:`seal` — chain committed events with SHA-256 links (see :mod:`._seal`);
  a periodic job runs it every minute.
* :func:`checkpoint` — verify the links since the last checkpoint and record the
  head, so verification (and a later retention sweep) can start there.
* :func:`verify` — re-walk the chain and report the first broken link.
* :func:`prune` — delete the oldest sealed events up to a checkpoint, keeping the
  chain verifiable (the retention sweep of the trail; see :mod:`._prune`).

The trail holds ids and names, never a personal-data value: every field is
validated (:mod:`._validate`) and a violation raises
:class:`~doorstep.audit.exceptions.UnsafeAuditValueError` before anything is
written.

Conventions: ``actor`` is ``kind:id`` (``subject:<uuid>``, ``staff:<uuid>``,
``device:<uuid>``, ``system:<job name>``); ``action`` is ``area.verb``
(``consent.granted``, ``datamap.read``, ``retention.swept``); ``outcome`` is
``ok``, ``refused`` or ``failed``.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import datetime

from sqlalchemy.orm import Session

from doorstep.audit import _buffer, _prune, _seal
from doorstep.audit._validate import (
    check_name,
    check_optional_name,
    check_subject,
    details_json,
)
from doorstep.audit._verify import DEFAULT_GRACE, VerifyReport, verify, walk
from doorstep.audit.exceptions import AuditChainBrokenError
from doorstep.core.clock import Clock, require_aware
from doorstep.core.database import CLOCK_KEY as DATABASE_CLOCK_KEY

__all__ = [
    "CLOCK_KEY",
    "DEFAULT_GRACE",
    "VerifyReport",
    "checkpoint",
    "flush_events",
    "prunable",
    "prune",
    "record",
    "seal",
    "use_clock",
    "verify",
]

#: ``session.info`` key of the :class:`Clock` that dates events recorded without ``at``.
CLOCK_KEY = DATABASE_CLOCK_KEY

_buffer.install()


def use_clock(session: Session, clock: Clock) -> Session:
    """Date events recorded on ``session`` by ``clock`` (instead of the database's ``now()``).

    A session factory can do the same for every session with
    ``sessionmaker(..., info={CLOCK_KEY: clock})``.
    """
    session.info[CLOCK_KEY] = clock
    return session


def record(
    session: Session,
    *,
    action: str,
    actor: str,
    subject_id: uuid.UUID | None = None,
    purpose: str | None = None,
    element: str | None = None,
    outcome: str = "ok",
    details: Mapping[str, str | int | bool | None] | None = None,
    at: datetime | None = None,
) -> None:
    """Record one event in ``session``'s transaction (written at its commit at the latest).

    ``details`` values are ids: ints, booleans, None, names, or UUIDs (stored as
    strings).  ``at`` (aware) dates the event; without it the clock in
    ``session.info[CLOCK_KEY]`` does, else the database's transaction time.
    Raises :class:`UnsafeAuditValueError` when a field is not an id or a name.
    """
    when: datetime | None
    if at is not None:
        when = require_aware(at)
    else:
        clock = session.info.get(CLOCK_KEY)
        when = clock.now() if clock is not None else None
    row: _buffer.Row = (
        when.isoformat() if when is not None else None,
        check_name("actor", actor),
        check_name("action", action),
        check_optional_name("purpose", purpose),
        check_optional_name("element", element),
        check_subject(subject_id),
        check_name("outcome", outcome),
        details_json(details),
    )
    _buffer.buffer(session, row)


def flush_events(session: Session) -> int:
    """Write the events buffered on ``session`` now (still uncommitted); return how many."""
    return _buffer.flush(session)


def seal(
    session: Session,
    *,
    wait: bool = True,
    batch_size: int = _seal.DEFAULT_BATCH,
    limit: int | None = None,
) -> int:
    """Chain every committed, unsealed event; return how many were sealed.

    Runs in ``session``'s transaction, which the caller commits; only one sealer
    runs at a time (``wait=False`` returns 0 at once when another holds the lock).
    """
    return _seal.seal(session, wait=wait, batch_size=batch_size, limit=limit)


def checkpoint(session: Session, *, at: datetime | None = None) -> int | None:
    """Verify the links since the last checkpoint, then record the head as a checkpoint.

    Returns the checkpoint's ``seq``, or None when there is nothing new to vouch
    for.  Raises :class:`AuditChainBrokenError` (and records nothing) when the
    links since the last checkpoint do not verify.
    """
    _seal.lock(session, wait=True)
    checked = walk(session, from_checkpoint=True)
    if checked.broken_at is not None:
        raise AuditChainBrokenError(
            "the audit chain is broken; no checkpoint was taken",
            seq=checked.broken_at,
            reason=checked.reason,
        )
    return _seal.write_checkpoint(session, at=at)


def prune(
    session: Session, *, cutoff: datetime, batch_size: int, at: datetime | None = None
) -> _prune.PruneBatch | None:
    """Delete at most ``batch_size`` of the oldest sealed events, never past a checkpoint.

    The prune heads for the newest checkpoint taken before ``cutoff``; every
    batch re-verifies what it deletes and leaves the chain starting right after
    a checkpoint (writing one, dated ``at``, if the batch stops short), so
    ``verify`` passes after each commit.  Returns None when nothing is left.
    Raises :class:`AuditChainBrokenError` and deletes nothing when the links to
    prune do not verify.  Runs in ``session``'s transaction; the caller commits.
    """
    return _prune.prune_batch(session, cutoff=cutoff, batch_size=batch_size, at=at)


def prunable(session: Session, *, cutoff: datetime) -> int:
    """How many events :func:`prune` with ``cutoff`` would delete now (read-only)."""
    return _prune.count_prunable(session, cutoff)
