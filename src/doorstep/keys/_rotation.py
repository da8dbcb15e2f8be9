"""KEK rotation: re-wrap every subject key under the newest KEK, in small transactions.

Each batch locks up to ``batch_size`` rows not yet under the active KEK (``FOR
UPDATE SKIP LOCKED``, in primary-key order, resuming after the last key seen),
re-wraps them and commits.  Nothing else changes, so:

* encrypt and decrypt keep working throughout: the DEKs themselves do not
  change and every KEK referenced by a row stays in the keyring;
* an interrupted rotation is resumed by running it again: it only picks up
  rows that are not yet under the active KEK;
* several rotators may run at once (rows locked by one are skipped by the
  others); a last pass without ``SKIP LOCKED`` waits for rows that were busy.

Rows of subjects whose key was destroyed (a restored backup brings them back)
are deleted on the way: they can never be opened again.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session, sessionmaker

from doorstep.core.errors import InvalidInputError
from doorstep.keys.exceptions import KeyDestroyedError
from doorstep.keys.interfaces import Keyring, WrappedKey
from doorstep.keys.models import SubjectKey

log = logging.getLogger("doorstep.keys")

_KeyRow = sa.Row[uuid.UUID, int, str, bytes]

#: ``progress(rewrapped_so_far, total_at_start)``, called after each committed batch.
Progress = Callable[[int, int], None]


def pending_count(session: Session, kek_id: str) -> int:
    """How many subject keys are not wrapped under ``kek_id``."""
    query = sa.select(sa.func.count()).where(SubjectKey.kek_id != kek_id)
    return int(session.scalar(query) or 0)


def rewrap_all(
    keyring: Keyring,
    session_factory: sessionmaker[Session],
    *,
    batch_size: int,
    progress: Progress | None = None,
) -> int:
    """Re-wrap every subject key under the active KEK; return how many were re-wrapped."""
    if batch_size < 1:
        raise InvalidInputError(
            "batch_size must be at least 1", errors=[{"field": "batch_size", "rule": "ge 1"}]
        )
    with session_factory() as session:
        total = pending_count(session, keyring.active_kek())
    done = shredded = 0
    for skip_locked in (True, False):
        after: uuid.UUID | None = None
        while True:
            with session_factory() as session, session.begin():
                rows = _next_batch(session, keyring.active_kek(), after, batch_size, skip_locked)
                if not rows:
                    break
                changed, gone = _rewrap_rows(keyring, rows)
                if changed:
                    session.execute(sa.update(SubjectKey), changed)
                if gone:
                    session.execute(sa.delete(SubjectKey).where(SubjectKey.subject_id.in_(gone)))
            after = rows[-1].subject_id
            done += len(changed)
            shredded += len(gone)
            log.info("key rotation: %d of %d subject keys re-wrapped", done, total)
            if progress is not None:
                progress(done, total)
    if shredded:
        log.info("key rotation: removed %d keys of destroyed subjects", shredded)
    return done


def _next_batch(
    session: Session, target: str, after: uuid.UUID | None, size: int, skip_locked: bool
) -> Sequence[_KeyRow]:
    query = sa.select(
        SubjectKey.subject_id, SubjectKey.key_version, SubjectKey.kek_id, SubjectKey.wrapped_dek
    ).where(SubjectKey.kek_id != target)
    if after is not None:
        query = query.where(SubjectKey.subject_id > after)
    query = query.order_by(SubjectKey.subject_id).limit(size)
    return session.execute(query.with_for_update(skip_locked=skip_locked)).all()


def _rewrap_rows(
    keyring: Keyring, rows: Sequence[_KeyRow]
) -> tuple[list[dict[str, Any]], list[uuid.UUID]]:
    changed: list[dict[str, Any]] = []
    gone: list[uuid.UUID] = []
    for row in rows:
        try:
            wrapped = keyring.rewrap(
                WrappedKey(row.kek_id, row.wrapped_dek), row.subject_id, row.key_version
            )
        except KeyDestroyedError:
            gone.append(row.subject_id)
            continue
        changed.append(
            {"subject_id": row.subject_id, "kek_id": wrapped.kek_id, "wrapped_dek": wrapped.blob}
        )
    return changed, gone
