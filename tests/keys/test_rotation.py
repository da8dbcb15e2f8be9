"""KEK rotation: everything re-wrapped, nothing unreadable meanwhile, resumable."""

from __future__ import annotations

import threading
import uuid
from datetime import timedelta

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session, sessionmaker

from doorstep.core.clock import FakeClock
from doorstep.core.database import transaction
from doorstep.core.errors import InvalidInputError
from doorstep.core.runtime import Runtime
from doorstep.keys.keyring import MemoryKeyring
from doorstep.keys.models import SubjectKey
from doorstep.keys.services import KeyService
from tests.keys.conftest import PPPOE, new_subject


class Interrupted(Exception):
    """Stands for a crash or a Ctrl-C between two batches."""


def _seed(sessions: sessionmaker[Session], keys: KeyService, count: int) -> dict[uuid.UUID, bytes]:
    with transaction(sessions) as session:
        sealed = {}
        for index in range(count):
            subject = new_subject(session)
            sealed[subject] = keys.encrypt(session, subject, f"secret-{index}", context=PPPOE)
        return sealed


def _per_kek(sessions: sessionmaker[Session]) -> dict[str, int]:
    with sessions() as session:
        query = sa.select(SubjectKey.kek_id, sa.func.count()).group_by(SubjectKey.kek_id)
        return {kek: int(n) for kek, n in session.execute(query).all()}


def _all_decrypt(
    sessions: sessionmaker[Session],
    keyring: MemoryKeyring,
    clock: FakeClock,
    sealed: dict[uuid.UUID, bytes],
) -> None:
    fresh = KeyService(keyring, clock)  # empty cache: every key is unwrapped again
    with sessions() as session:
        for index, (subject, blob) in enumerate(sealed.items()):
            assert (
                fresh.decrypt(session, subject, blob, context=PPPOE) == f"secret-{index}".encode()
            )


@pytest.mark.clause("CPE-IV.1.a")
def test_rotation_rewraps_every_key_and_old_ciphertexts_still_open(
    sessions: sessionmaker[Session], keyring: MemoryKeyring, clock: FakeClock
) -> None:
    keys = KeyService(keyring, clock)
    sealed = _seed(sessions, keys, 12)
    old = keyring.active_kek()
    new = keys.add_kek().id
    seen: list[tuple[int, int]] = []
    assert keys.rotate_kek(sessions, batch_size=5, progress=lambda *p: seen.append(p)) == 12
    assert seen == [(5, 12), (10, 12), (12, 12)]
    assert _per_kek(sessions) == {new: 12}
    _all_decrypt(sessions, keyring, clock, sealed)
    with sessions() as session:
        status = keys.status(session)
    assert [(kek.id, count) for kek, count in status.keks] == [(old, 0), (new, 12)]
    assert keys.rotate_kek(sessions) == 0  # nothing left to do


def test_an_interrupted_rotation_resumes_and_finishes(
    sessions: sessionmaker[Session], keyring: MemoryKeyring, clock: FakeClock
) -> None:
    keys = KeyService(keyring, clock)
    sealed = _seed(sessions, keys, 10)
    old, new = keyring.active_kek(), keys.add_kek().id

    def crash(done: int, _total: int) -> None:
        raise Interrupted

    with pytest.raises(Interrupted):
        keys.rotate_kek(sessions, batch_size=4, progress=crash)
    assert _per_kek(sessions) == {new: 4, old: 6}  # the first batch is committed
    _all_decrypt(sessions, keyring, clock, sealed)  # half-way, everything still opens
    assert keys.rotate_kek(sessions, batch_size=4) == 6
    assert _per_kek(sessions) == {new: 10}
    _all_decrypt(sessions, keyring, clock, sealed)


def test_rotation_drops_keys_of_destroyed_subjects(
    sessions: sessionmaker[Session], keyring: MemoryKeyring, clock: FakeClock
) -> None:
    keys = KeyService(keyring, clock)
    sealed = _seed(sessions, keys, 3)
    gone = next(iter(sealed))
    keyring.destroy_subject(gone, now=clock.now())  # e.g. a row that came back with a restore
    keys.add_kek()
    assert keys.rotate_kek(sessions) == 2
    with sessions() as session:
        assert session.get(SubjectKey, gone) is None


def test_a_bad_batch_size_is_refused(sessions: sessionmaker[Session], keys: KeyService) -> None:
    with pytest.raises(InvalidInputError, match="batch_size"):
        keys.rotate_kek(sessions, batch_size=0)


def test_decryption_keeps_working_while_a_rotation_runs(
    committed: Runtime, keyring: MemoryKeyring, clock: FakeClock
) -> None:
    keys = KeyService(keyring, clock)
    sealed = _seed(committed.sessions, keys, 60)
    keys.add_kek()
    reader = KeyService(keyring, clock, cache_size=0)  # unwraps on every call
    failures: list[BaseException] = []
    reads = 0
    stop = threading.Event()

    def read() -> None:
        nonlocal reads
        while not stop.is_set():
            for subject, blob in sealed.items():
                try:
                    with committed.sessions() as session:
                        reader.decrypt(session, subject, blob, context=PPPOE)
                    reads += 1
                except Exception as exc:  # pragma: no cover - the failure we look for
                    failures.append(exc)

    thread = threading.Thread(target=read)
    thread.start()
    try:
        assert keys.rotate_kek(committed.sessions, batch_size=7) == 60
    finally:
        stop.set()
        thread.join(30)
    assert failures == [] and reads > 0
    assert _per_kek(committed.sessions) == {keyring.active_kek(): 60}


def test_retirement_waits_for_references_and_for_the_grace_period(
    sessions: sessionmaker[Session], keyring: MemoryKeyring, clock: FakeClock
) -> None:
    keys = KeyService(keyring, clock)
    sealed = _seed(sessions, keys, 3)
    old = keyring.active_kek()
    keys.add_kek()
    with sessions() as session:
        assert keys.retire_keks(session) == []  # still referenced
    keys.rotate_kek(sessions)
    with sessions() as session:
        assert keys.retire_keks(session, keep_for=timedelta(days=30)) == []  # backups need it
        clock.advance(timedelta(days=30))
        assert keys.retire_keks(session, keep_for=timedelta(days=30)) == [old]
    assert keyring.retired_keks() == [old]
    _all_decrypt(sessions, keyring, clock, sealed)
