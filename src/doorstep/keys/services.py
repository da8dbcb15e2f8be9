"""Per-subject envelope encryption: the one service other areas call.

    keys = KeyService(keyring, clock)                    # once per process
    blob = keys.encrypt(session, subject_id, "s3cret", context="devices.pppoe_password")
    keys.decrypt(session, subject_id, blob, context="devices.pppoe_password")  # b"s3cret"
    keys.destroy(session, subject_id)                    # crypto-shred, irreversible

Each subject gets its own random 256-bit data key (DEK) the first time
something is encrypted for it, in the caller's transaction.  The DEK is stored
only wrapped by the keyring's active KEK (``subject_keys``); fields are sealed
with AES-256-GCM and bound to subject and context (see :mod:`.ciphertext`).
Unwrapped DEKs are cached briefly in-process (:mod:`._cache`).

Destroying a key writes a tombstone in the keyring first and then deletes the
row, so it takes effect even if the caller's transaction later rolls back, and
a database restored from an older backup cannot bring the key back (decision
0006).  Services never commit: the caller owns the transaction, except in
:meth:`KeyService.rotate_kek`, which commits batch by batch.
"""

from __future__ import annotations

import itertools
import logging
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta

import sqlalchemy as sa
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session, sessionmaker

from doorstep.core.clock import Clock
from doorstep.core.errors import NotFoundError
from doorstep.keys import ciphertext
from doorstep.keys._cache import Dek, DekCache, SessionKeys
from doorstep.keys._rotation import Progress, rewrap_all
from doorstep.keys.exceptions import DecryptionError, KeyDestroyedError, SubjectKeyNotFoundError
from doorstep.keys.interfaces import KekInfo, Keyring, WrappedKey
from doorstep.keys.models import SubjectKey
from doorstep.privacy.subjects.models import Subject

log = logging.getLogger("doorstep.keys")

FIRST_KEY_VERSION = 1
DEFAULT_CACHE_SIZE = 10_000
DEFAULT_CACHE_TTL = timedelta(minutes=1)


@dataclass(frozen=True, slots=True)
class KeyStatus:
    """Counts for ``doorstep keys status``: never key material.

    ``keks`` pairs each usable KEK with the number of subject keys it wraps;
    ``missing`` counts subject keys under KEKs this keyring does not know
    (a wrong keyring, or keys restored from a backup older than a retirement).
    """

    keks: list[tuple[KekInfo, int]]
    retired: list[str]
    tombstones: int
    missing: dict[str, int]
    keyring: str


class KeyService:
    """Encrypt, decrypt and crypto-shred subjects' secret fields.  Thread-safe.

    ``cache_size`` bounds how many unwrapped DEKs the process keeps and
    ``cache_ttl`` how long each stays; ``cache_size=0`` disables the cache.
    """

    def __init__(
        self,
        keyring: Keyring,
        clock: Clock,
        *,
        cache_size: int = DEFAULT_CACHE_SIZE,
        cache_ttl: timedelta = DEFAULT_CACHE_TTL,
    ) -> None:
        self.keyring = keyring
        self.clock = clock
        self.cache = DekCache(max_size=cache_size, ttl=cache_ttl, clock=clock)

    # -- fields --------------------------------------------------------------------------------

    def encrypt(
        self, session: Session, subject_id: uuid.UUID, plaintext: bytes | str, *, context: str
    ) -> bytes:
        """Seal ``plaintext`` (``str`` is encoded as UTF-8) for the subject and ``context``.

        Creates the subject's data key on first use (the subject must exist).
        Raises KeyDestroyedError after :meth:`destroy`, NotFoundError for an
        unknown subject, InvalidInputError when ``context`` is not ``table.column``.
        """
        data = plaintext.encode("utf-8") if isinstance(plaintext, str) else bytes(plaintext)
        ciphertext.check_context(context)
        dek = self._dek(session, subject_id, create=True)
        return ciphertext.seal(dek.aead, dek.key_version, subject_id, context, data)

    def decrypt(
        self, session: Session, subject_id: uuid.UUID, sealed: bytes, *, context: str
    ) -> bytes:
        """Open a ciphertext made by :meth:`encrypt` for the same subject and ``context``.

        Raises KeyDestroyedError when the subject's key was destroyed,
        DecryptionError when the bytes were changed or belong to another row,
        column or subject, SubjectKeyNotFoundError when the subject never had a key.
        """
        header = ciphertext.read_header(sealed)
        ciphertext.check_context(context)
        dek = self._dek(session, subject_id, create=False)
        if header.key_version != dek.key_version:
            raise DecryptionError(
                f"the ciphertext names key version {header.key_version}, "
                f"which is not the subject's data key",
                context=context,
            )
        return ciphertext.open_sealed(dek.aead, subject_id, context, sealed)

    def ensure_key(self, session: Session, subject_id: uuid.UUID) -> None:
        """Create the subject's data key now if it has none (e.g. at sign-up)."""
        self._dek(session, subject_id, create=True)

    def destroy(self, session: Session, subject_id: uuid.UUID) -> None:
        """Crypto-shred: make every copy of the subject's encrypted fields unreadable.

        Writes the keyring tombstone (at once and for good, whatever becomes of
        the caller's transaction), evicts the cached key and deletes the
        ``subject_keys`` row.  Idempotent.  Later encrypt/decrypt for the subject
        raise KeyDestroyedError.
        """
        self.shred(session, subject_id)
        session.execute(sa.delete(SubjectKey).where(SubjectKey.subject_id == subject_id))

    def shred(self, session: Session, subject_id: uuid.UUID) -> None:
        """:meth:`destroy` but for the ``subject_keys`` row, which the caller deletes.

        For erasures that delete the row in a statement of their own (the
        requests area's one-statement erasure).  Idempotent.
        """
        self.keyring.destroy_subject(subject_id, now=self.clock.now())
        SessionKeys.of(session, self.cache).forget(subject_id)
        log.info("subject data key destroyed", extra={"subject_id": str(subject_id)})

    def shred_many(self, session: Session, subject_ids: Sequence[uuid.UUID]) -> None:
        """:meth:`shred` for each of ``subject_ids``, with one durable keyring write."""
        if not subject_ids:
            return
        self.keyring.destroy_subjects(subject_ids, now=self.clock.now())
        cached = SessionKeys.of(session, self.cache)
        for subject_id in subject_ids:
            cached.forget(subject_id)
        log.info("subject data keys destroyed", extra={"subjects": len(subject_ids)})

    # -- KEKs ----------------------------------------------------------------------------------

    def rotate_kek(
        self,
        session_factory: sessionmaker[Session],
        *,
        batch_size: int = 1000,
        progress: Progress | None = None,
    ) -> int:
        """Re-wrap every subject key under the newest KEK; return how many were re-wrapped.

        Create the new KEK first (:meth:`add_kek`).  Commits each batch in its
        own transaction from ``session_factory``; safe to interrupt and run again,
        and to run while the service is in use (see :mod:`._rotation`).
        """
        return rewrap_all(self.keyring, session_factory, batch_size=batch_size, progress=progress)

    def add_kek(self) -> KekInfo:
        """Create a new KEK and make it the one that wraps new keys."""
        kek = self.keyring.add_kek(now=self.clock.now())
        log.info("new key-encryption key %s is active", kek.id)
        return kek

    def retire_keks(self, session: Session, *, keep_for: timedelta = timedelta(0)) -> list[str]:
        """Destroy old KEKs that no subject key references any more; return their ids.

        A KEK is kept until it has been superseded for ``keep_for``: set that to
        the backup retention, because a backup whose keys are under a retired
        KEK can no longer have its secret fields read.  Retiring is also what
        makes the destruction of subject keys cryptographically final for
        every backup (decision 0006).
        """
        now = self.clock.now()
        keks = self.keyring.keks()
        retired = []
        for older, newer in itertools.pairwise(keks):
            if now - newer.created_at < keep_for:
                continue
            in_use = session.scalar(sa.select(sa.exists().where(SubjectKey.kek_id == older.id)))
            if in_use:
                continue
            self.keyring.retire_kek(older.id, now=now)
            retired.append(older.id)
            log.info("key-encryption key %s retired; its material is destroyed", older.id)
        return retired

    def status(self, session: Session) -> KeyStatus:
        """Subject keys per KEK, retired KEKs and tombstones."""
        counts: dict[str, int] = {
            kek_id: int(count)
            for kek_id, count in session.execute(
                sa.select(SubjectKey.kek_id, sa.func.count()).group_by(SubjectKey.kek_id)
            ).all()
        }
        keks = self.keyring.keks()
        known = {kek.id for kek in keks}
        return KeyStatus(
            keks=[(kek, counts.get(kek.id, 0)) for kek in keks],
            retired=self.keyring.retired_keks(),
            tombstones=self.keyring.tombstone_count(),
            missing={k: v for k, v in counts.items() if k not in known},
            keyring=self.keyring.describe(),
        )

    # -- internals -----------------------------------------------------------------------------

    def _dek(self, session: Session, subject_id: uuid.UUID, *, create: bool) -> Dek:
        tracker = SessionKeys.of(session, self.cache)
        dek = tracker.lookup(subject_id)
        if dek is not None:
            return dek
        row = session.execute(
            sa.select(SubjectKey.key_version, SubjectKey.kek_id, SubjectKey.wrapped_dek).where(
                SubjectKey.subject_id == subject_id
            )
        ).one_or_none()
        if row is not None:
            dek = self._unwrap(subject_id, row.key_version, row.kek_id, row.wrapped_dek)
        elif self.keyring.is_destroyed(subject_id):
            raise KeyDestroyedError(
                "the subject's data key was destroyed", subject_id=str(subject_id)
            )
        elif not create:
            raise SubjectKeyNotFoundError(
                "the subject has no data key, so nothing was encrypted for it",
                subject_id=str(subject_id),
            )
        else:
            dek = self._create(session, subject_id, tracker)
        tracker.remember(subject_id, dek)
        return dek

    def _unwrap(self, subject_id: uuid.UUID, version: int, kek_id: str, blob: bytes) -> Dek:
        material = self.keyring.unwrap(WrappedKey(kek_id, blob), subject_id, version)
        return Dek(version, AESGCM(material))

    def _create(self, session: Session, subject_id: uuid.UUID, tracker: SessionKeys) -> Dek:
        material = AESGCM.generate_key(bit_length=256)
        wrapped = self.keyring.wrap(subject_id, FIRST_KEY_VERSION, material)
        source = sa.select(
            sa.literal(subject_id, sa.Uuid()),
            sa.literal(FIRST_KEY_VERSION),
            sa.literal(wrapped.kek_id, sa.Text()),
            sa.literal(wrapped.blob, sa.LargeBinary()),
        ).where(sa.exists().where(Subject.id == subject_id))
        statement = (
            insert(SubjectKey)
            .from_select(["subject_id", "key_version", "kek_id", "wrapped_dek"], source)
            .on_conflict_do_nothing(index_elements=["subject_id"])
            .returning(SubjectKey.key_version)
        )
        if session.execute(statement).scalar_one_or_none() is not None:
            tracker.created.add(subject_id)
            log.debug("subject data key created under %s", wrapped.kek_id)
            return Dek(FIRST_KEY_VERSION, AESGCM(material))
        # Nothing inserted: another transaction created the key first, or no such subject.
        row = session.execute(
            sa.select(SubjectKey.key_version, SubjectKey.kek_id, SubjectKey.wrapped_dek).where(
                SubjectKey.subject_id == subject_id
            )
        ).one_or_none()
        if row is None:
            raise NotFoundError("there is no such subject", subject_id=str(subject_id))
        return self._unwrap(subject_id, row.key_version, row.kek_id, row.wrapped_dek)
