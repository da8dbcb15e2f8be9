"""KeyService: round trips, binding, refusals, destruction and the DEK cache."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session, sessionmaker

from doorstep.core.clock import FakeClock
from doorstep.core.errors import DoorstepError, InvalidInputError, NotFoundError
from doorstep.keys.exceptions import DecryptionError, KeyDestroyedError, SubjectKeyNotFoundError
from doorstep.keys.keyring import MemoryKeyring
from doorstep.keys.models import SubjectKey
from doorstep.keys.services import KeyService
from doorstep.privacy.subjects.models import Subject
from tests.keys.conftest import PPPOE, new_subject


class CountingKeyring(MemoryKeyring):
    """Counts unwraps, to see the cache at work."""

    unwraps = 0

    def unwrap(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        self.unwraps += 1
        return super().unwrap(*args, **kwargs)


def _rows(session: Session, subject_id: uuid.UUID) -> list[SubjectKey]:
    query = sa.select(SubjectKey).where(SubjectKey.subject_id == subject_id)
    return list(session.scalars(query))


@pytest.mark.clause("CPE-IV.1.a")
def test_round_trip_and_one_wrapped_key_per_subject(db: Session, keys: KeyService) -> None:
    subject = new_subject(db)
    sealed = keys.encrypt(db, subject, "pppoe-pa55word", context=PPPOE)
    assert b"pppoe-pa55word" not in sealed
    assert keys.decrypt(db, subject, sealed, context=PPPOE) == b"pppoe-pa55word"
    for data in (bytes(range(256)), b"", "pässwörd"):
        sealed = keys.encrypt(db, subject, data, context="a.b")
        expected = data.encode() if isinstance(data, str) else data
        assert keys.decrypt(db, subject, sealed, context="a.b") == expected
    (row,) = _rows(db, subject)
    assert (row.key_version, row.kek_id) == (1, keys.keyring.active_kek())
    assert len(row.wrapped_dek) == 61


def test_a_fresh_process_decrypts_from_the_database(
    db: Session, keyring: MemoryKeyring, clock: FakeClock
) -> None:
    subject = new_subject(db)
    sealed = KeyService(keyring, clock).encrypt(db, subject, "x", context=PPPOE)
    assert KeyService(keyring, clock).decrypt(db, subject, sealed, context=PPPOE) == b"x"


def test_wrong_context_subject_or_bytes_fail(db: Session, keys: KeyService) -> None:
    alice, bob, carol = new_subject(db), new_subject(db), new_subject(db)
    sealed = keys.encrypt(db, alice, "secret", context=PPPOE)
    keys.ensure_key(db, bob)
    with pytest.raises(DecryptionError, match="does not authenticate"):
        keys.decrypt(db, alice, sealed, context="devices.wifi_password")
    with pytest.raises(DecryptionError, match="does not authenticate"):
        keys.decrypt(db, bob, sealed, context=PPPOE)
    with pytest.raises(SubjectKeyNotFoundError):
        keys.decrypt(db, carol, sealed, context=PPPOE)
    tampered = bytearray(sealed)
    tampered[-1] ^= 0x80
    with pytest.raises(DecryptionError):
        keys.decrypt(db, alice, bytes(tampered), context=PPPOE)
    other_version = bytearray(sealed)
    other_version[4] = 2
    with pytest.raises(DecryptionError, match="key version 2"):
        keys.decrypt(db, alice, bytes(other_version), context=PPPOE)


def test_unknown_subject_and_bad_context_are_refused(db: Session, keys: KeyService) -> None:
    with pytest.raises(NotFoundError, match="no such subject"):
        keys.encrypt(db, uuid.uuid4(), "x", context=PPPOE)
    subject = new_subject(db)
    with pytest.raises(InvalidInputError):
        keys.encrypt(db, subject, "x", context="not a context")
    assert _rows(db, subject) == []  # a refused call creates no key


@pytest.mark.clause("CPE-IV.1.a")
def test_destroy_shreds_the_key_for_good(db: Session, keys: KeyService) -> None:
    subject, other = new_subject(db), new_subject(db)
    sealed = keys.encrypt(db, subject, "secret", context=PPPOE)
    kept = keys.encrypt(db, other, "kept", context=PPPOE)
    keys.destroy(db, subject)
    assert _rows(db, subject) == []
    assert subject not in keys.cache
    with pytest.raises(KeyDestroyedError) as caught:
        keys.decrypt(db, subject, sealed, context=PPPOE)
    assert isinstance(caught.value, DoorstepError) and caught.value.status == 410
    with pytest.raises(KeyDestroyedError):
        keys.encrypt(db, subject, "again", context=PPPOE)
    keys.destroy(db, subject)  # idempotent
    assert keys.decrypt(db, other, kept, context=PPPOE) == b"kept"


def test_a_subject_with_a_live_key_cannot_be_deleted(db: Session, keys: KeyService) -> None:
    subject = new_subject(db)
    keys.ensure_key(db, subject)
    with pytest.raises(sa.exc.IntegrityError), db.begin_nested():
        db.execute(sa.delete(Subject).where(Subject.id == subject))
    keys.destroy(db, subject)
    db.execute(sa.delete(Subject).where(Subject.id == subject))


def test_a_key_from_a_rolled_back_transaction_is_never_reused(
    sessions: sessionmaker[Session], keys: KeyService
) -> None:
    with sessions() as session:
        subject = new_subject(session)
        session.commit()
        with session.begin_nested():
            lost = keys.encrypt(session, subject, "lost", context=PPPOE)
            savepoint = session.get_transaction()
            assert savepoint is not None
            savepoint.rollback()
        kept = keys.encrypt(session, subject, "kept", context=PPPOE)
        session.rollback()  # the key made in this transaction goes too
        assert len(keys.cache) == 0
        sealed = keys.encrypt(session, subject, "final", context=PPPOE)
        session.commit()
        assert subject in keys.cache  # cached once committed
    with sessions() as session:
        assert keys.decrypt(session, subject, sealed, context=PPPOE) == b"final"
        for stale in (lost, kept):
            with pytest.raises(DecryptionError):
                keys.decrypt(session, subject, stale, context=PPPOE)


def test_the_cache_saves_unwraps_expires_and_is_bounded(db: Session, clock: FakeClock) -> None:
    keyring = CountingKeyring(clock=clock)
    subjects = [new_subject(db) for _ in range(3)]
    sealed = {s: KeyService(keyring, clock).encrypt(db, s, "x", context=PPPOE) for s in subjects}
    db.commit()
    keys = KeyService(keyring, clock, cache_size=2, cache_ttl=timedelta(seconds=30))
    for _ in range(5):
        keys.decrypt(db, subjects[0], sealed[subjects[0]], context=PPPOE)
    assert keyring.unwraps == 1
    clock.advance(timedelta(seconds=31))
    keys.decrypt(db, subjects[0], sealed[subjects[0]], context=PPPOE)
    assert keyring.unwraps == 2
    for subject in subjects:
        keys.decrypt(db, subject, sealed[subject], context=PPPOE)
    assert len(keys.cache) == 2 and subjects[0] not in keys.cache
    uncached = KeyService(keyring, clock, cache_size=0)
    before = keyring.unwraps
    for _ in range(3):
        uncached.decrypt(db, subjects[0], sealed[subjects[0]], context=PPPOE)
    assert keyring.unwraps == before + 3
