"""The in-process cache of unwrapped data keys, and what keeps it honest.

:class:`DekCache` is a bounded LRU with a time-to-live: an unwrapped key stays
in memory at most ``ttl`` after it was loaded, and at most ``max_size`` keys are
held.  ``KeyService.destroy`` evicts at once in its own process; other processes
on the same keyring drop the key when the entry expires.  We accept that window
(default one minute) because checking the keyring on every decryption would cost
a ``stat`` or a KMS round trip per field.

:class:`SessionKeys` exists because a data key is created inside the caller's
transaction.  Were it cached at once and the transaction rolled back, the cache
would hold a key the database never kept, and fields encrypted with it later
would be lost.  So keys created (or read back) in an uncommitted transaction
stay in a per-session ``pending`` map; they move to the shared cache when the
outermost transaction commits and are dropped when it, or a savepoint taken
after them, rolls back.
"""

from __future__ import annotations

import threading
import uuid
from collections import OrderedDict
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import sqlalchemy as sa
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from sqlalchemy.orm import Session, SessionTransaction

from doorstep.core.clock import Clock


@dataclass(frozen=True, slots=True)
class Dek:
    """An unwrapped data key, ready to use.  Never printed."""

    key_version: int
    aead: AESGCM = field(repr=False)


class DekCache:
    """A thread-safe LRU of unwrapped data keys with a time-to-live."""

    def __init__(self, *, max_size: int, ttl: timedelta, clock: Clock) -> None:
        if max_size < 0:
            raise ValueError("max_size cannot be negative")
        self._max = max_size
        self._ttl = ttl
        self._clock = clock
        self._entries: OrderedDict[uuid.UUID, tuple[Dek, datetime]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, subject_id: uuid.UUID) -> Dek | None:
        """The cached key, or None when absent or expired."""
        with self._lock:
            entry = self._entries.get(subject_id)
            if entry is None:
                return None
            if entry[1] <= self._clock.now():
                del self._entries[subject_id]
                return None
            self._entries.move_to_end(subject_id)
            return entry[0]

    def put(self, subject_id: uuid.UUID, dek: Dek) -> None:
        """Remember ``dek`` for ``ttl``, evicting the least recently used beyond ``max_size``."""
        if self._max == 0:
            return
        with self._lock:
            self._entries[subject_id] = (dek, self._clock.now() + self._ttl)
            self._entries.move_to_end(subject_id)
            while len(self._entries) > self._max:
                self._entries.popitem(last=False)

    def evict(self, subject_id: uuid.UUID) -> None:
        """Forget one subject's key."""
        with self._lock:
            self._entries.pop(subject_id, None)

    def clear(self) -> None:
        """Forget every key."""
        with self._lock:
            self._entries.clear()

    def __len__(self) -> int:
        with self._lock:
            return len(self._entries)

    def __contains__(self, subject_id: object) -> bool:
        with self._lock:
            return subject_id in self._entries


class SessionKeys:
    """Keys a session created, or read back, in its open transaction (see module docstring)."""

    def __init__(self, cache: DekCache) -> None:
        self.cache = cache
        self.created: set[uuid.UUID] = set()
        self.pending: dict[uuid.UUID, Dek] = {}
        self._just_committed = False

    @classmethod
    def of(cls, session: Session, cache: DekCache) -> SessionKeys:
        """The tracker of ``session`` for ``cache``, installed on first use."""
        slot = ("doorstep.keys", id(cache))
        tracker: SessionKeys | None = session.info.get(slot)
        if tracker is None:
            tracker = session.info[slot] = cls(cache)
            sa.event.listen(session, "after_commit", tracker._after_commit)
            sa.event.listen(session, "after_transaction_end", tracker._after_transaction_end)
        return tracker

    def lookup(self, subject_id: uuid.UUID) -> Dek | None:
        """A usable key: this transaction's own, else the shared cache's."""
        dek = self.pending.get(subject_id)
        if dek is None and subject_id not in self.created:
            dek = self.cache.get(subject_id)
        return dek

    def remember(self, subject_id: uuid.UUID, dek: Dek) -> None:
        """Keep ``dek``: pending if this transaction created the key, else in the shared cache."""
        if subject_id in self.created:
            self.pending[subject_id] = dek
        else:
            self.cache.put(subject_id, dek)

    def forget(self, subject_id: uuid.UUID) -> None:
        """Drop a subject's key from this session and from the shared cache."""
        self.pending.pop(subject_id, None)
        self.cache.evict(subject_id)

    # SQLAlchemy fires after_commit for savepoint releases too, and always just before
    # after_transaction_end of the same transaction; the flag carries the outcome across.
    def _after_commit(self, _session: Session) -> None:
        self._just_committed = True

    def _after_transaction_end(self, _session: Session, transaction: SessionTransaction) -> None:
        committed, self._just_committed = self._just_committed, False
        if transaction.parent is None:
            if committed:
                for subject_id, dek in self.pending.items():
                    self.cache.put(subject_id, dek)
            self.pending.clear()
            self.created.clear()
        elif transaction.nested and not committed:
            self.pending.clear()

    def __repr__(self) -> str:
        return f"<SessionKeys created={len(self.created)} pending={len(self.pending)}>"
