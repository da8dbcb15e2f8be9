"""Keyrings: the 0600 file, KEKs, binding of wrapped keys, and tombstones."""

from __future__ import annotations

import json
import os
import stat
import threading
import uuid
from datetime import timedelta
from pathlib import Path

import pytest

from doorstep.core.clock import FakeClock
from doorstep.core.settings import Settings
from doorstep.keys.exceptions import (
    DecryptionError,
    KeyDestroyedError,
    KeyringError,
    KeyringPermissionError,
)
from doorstep.keys.keyring import (
    KEYRING_FILENAME,
    FileKeyring,
    Keyring,
    MemoryKeyring,
    WrappedKey,
    load_keyring,
)

DEK = bytes(range(32))
ALICE = uuid.UUID("00000000-0000-4000-8000-00000000000a")
BOB = uuid.UUID("00000000-0000-4000-8000-00000000000b")


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def _materials(path: Path) -> list[str]:
    return [kek["material"] for kek in json.loads(path.read_text())["keks"]]


@pytest.mark.clause("CPE-IV.1.a")
def test_the_keyring_file_is_created_private_on_first_run(
    settings: Settings, clock: FakeClock
) -> None:
    old_umask = os.umask(0)  # the most permissive umask must not loosen the file
    try:
        keyring = load_keyring(settings, clock=clock)
    finally:
        os.umask(old_umask)
    path = settings.data_dir / KEYRING_FILENAME
    assert _mode(path) == 0o600
    assert _mode(settings.data_dir) & 0o077 == 0
    assert [kek.active for kek in keyring.keks()] == [True]
    # a second process finds the same keyring instead of making a new one
    assert load_keyring(settings).active_kek() == keyring.active_kek()


@pytest.mark.clause("CPE-IV.1.a")
@pytest.mark.parametrize("mode", [0o644, 0o640, 0o620, 0o604])
def test_a_keyring_file_others_can_reach_is_refused(
    tmp_path: Path, clock: FakeClock, mode: int
) -> None:
    path = tmp_path / KEYRING_FILENAME
    FileKeyring(path, clock=clock)
    path.chmod(mode)
    with pytest.raises(KeyringPermissionError) as caught:
        FileKeyring(path)
    assert f"mode {mode:04o}" in caught.value.detail
    assert f"chmod 600 {path}" in caught.value.detail
    for material in _materials(path):
        assert material not in caught.value.detail


def test_a_loosened_file_is_refused_by_a_running_process_too(
    tmp_path: Path, clock: FakeClock
) -> None:
    path = tmp_path / KEYRING_FILENAME
    keyring = FileKeyring(path, clock=clock)
    other = FileKeyring(path)
    other.add_kek(now=clock.now())  # the file changes, so the first reloads it…
    path.chmod(0o644)  # …and finds it loosened
    with pytest.raises(KeyringPermissionError):
        keyring.active_kek()


def test_a_keyring_file_of_another_user_is_refused(
    tmp_path: Path, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / KEYRING_FILENAME
    FileKeyring(path, clock=clock)
    monkeypatch.setattr(os, "geteuid", lambda: path.stat().st_uid + 1)
    with pytest.raises(KeyringPermissionError, match="belongs to user id"):
        FileKeyring(path)


def test_a_corrupt_or_missing_keyring_is_named_without_its_content(tmp_path: Path) -> None:
    path = tmp_path / KEYRING_FILENAME
    with pytest.raises(KeyringError, match="there is no keyring"):
        FileKeyring(path, create=False)
    path.write_text('{"format": "doorstep.keyring", "version": 1, "salt": "c2VjcmV0"}')
    path.chmod(0o600)
    with pytest.raises(KeyringError, match="corrupt") as caught:
        FileKeyring(path)
    assert "c2VjcmV0" not in caught.value.detail
    path.write_text("not json")
    with pytest.raises(KeyringError, match="not valid JSON"):
        FileKeyring(path)


@pytest.mark.parametrize("kind", ["memory", "file"])
def test_a_wrapped_key_opens_only_for_its_subject_and_version(
    kind: str, tmp_path: Path, clock: FakeClock
) -> None:
    keyring: Keyring = (
        MemoryKeyring(clock=clock) if kind == "memory" else FileKeyring(tmp_path / "k.json")
    )
    assert isinstance(keyring, Keyring)
    wrapped = keyring.wrap(ALICE, 1, DEK)
    assert DEK not in wrapped.blob
    assert keyring.unwrap(wrapped, ALICE, 1) == DEK
    with pytest.raises(DecryptionError, match="does not authenticate"):
        keyring.unwrap(wrapped, BOB, 1)
    with pytest.raises(DecryptionError):
        keyring.unwrap(wrapped, ALICE, 2)
    with pytest.raises(DecryptionError, match="malformed"):
        keyring.unwrap(WrappedKey(wrapped.kek_id, b"\x09" + wrapped.blob[1:]), ALICE, 1)
    with pytest.raises(KeyringError, match="not in this keyring"):
        keyring.unwrap(WrappedKey("kek-9999-00000000", wrapped.blob), ALICE, 1)


def test_old_keks_keep_unwrapping_after_a_new_one_is_added(clock: FakeClock) -> None:
    keyring = MemoryKeyring(clock=clock)
    first = keyring.wrap(ALICE, 1, DEK)
    newer = keyring.add_kek(now=clock.advance(timedelta(days=1)))
    assert keyring.active_kek() == newer.id != first.kek_id
    assert [kek.active for kek in keyring.keks()] == [False, True]
    assert keyring.unwrap(first, ALICE, 1) == DEK
    rewrapped = keyring.rewrap(first, ALICE, 1)
    assert rewrapped.kek_id == newer.id
    assert keyring.unwrap(rewrapped, ALICE, 1) == DEK
    assert keyring.rewrap(rewrapped, ALICE, 1) is rewrapped


def test_a_tombstone_refuses_every_use_of_the_subjects_key(clock: FakeClock) -> None:
    keyring = MemoryKeyring(clock=clock)
    wrapped = keyring.wrap(ALICE, 1, DEK)
    keyring.destroy_subject(ALICE, now=clock.now())
    keyring.destroy_subject(ALICE, now=clock.now())  # idempotent
    assert keyring.is_destroyed(ALICE) and not keyring.is_destroyed(BOB)
    assert keyring.tombstone_count() == 1
    for use in (
        lambda: keyring.unwrap(wrapped, ALICE, 1),
        lambda: keyring.wrap(ALICE, 1, DEK),
        lambda: keyring.rewrap(wrapped, ALICE, 1),
    ):
        with pytest.raises(KeyDestroyedError):
            use()
    assert keyring.unwrap(keyring.wrap(BOB, 1, DEK), BOB, 1) == DEK


def test_the_files_list_no_subject_ids(tmp_path: Path, clock: FakeClock) -> None:
    path = tmp_path / KEYRING_FILENAME
    keyring = FileKeyring(path, clock=clock)
    keyring.destroy_subject(ALICE, now=clock.now())
    journal = keyring.journal.read_text()
    assert len(journal.splitlines()) == 1 and _mode(keyring.journal) == 0o600
    keyring.add_kek(now=clock.now())  # folds the journal into the file
    assert keyring.journal.read_text() == ""
    text = path.read_text()
    for written in (text, journal):
        assert str(ALICE) not in written and ALICE.hex not in written
    assert len(json.loads(text)["tombstones"]) == 1
    assert FileKeyring(path).is_destroyed(ALICE)


def test_a_destruction_appends_one_line_however_many_came_before(
    tmp_path: Path, clock: FakeClock
) -> None:
    path = tmp_path / KEYRING_FILENAME
    keyring = FileKeyring(path, clock=clock)
    for _ in range(50):
        keyring.destroy_subject(uuid.uuid4(), now=clock.now())
    size = path.stat().st_size
    before = keyring.journal.stat().st_size
    keyring.destroy_subject(BOB, now=clock.now())
    assert path.stat().st_size == size  # the file is not rewritten
    assert keyring.journal.stat().st_size - before < 80  # one line
    other = FileKeyring(path)
    assert other.tombstone_count() == 51 and other.is_destroyed(BOB)
    keyring.destroy_subject(ALICE, now=clock.now())
    assert other.is_destroyed(ALICE)  # read incrementally by another instance


def test_retiring_a_kek_destroys_it_and_prunes_tombstones_it_alone_kept(
    tmp_path: Path, clock: FakeClock
) -> None:
    path = tmp_path / KEYRING_FILENAME
    keyring = FileKeyring(path, clock=clock)
    old = keyring.active_kek()
    wrapped = keyring.wrap(BOB, 1, DEK)
    keyring.destroy_subject(ALICE, now=clock.now())
    with pytest.raises(KeyringError, match="active KEK"):
        keyring.retire_kek(old, now=clock.now())
    old_material = _materials(path)[0]
    keyring.add_kek(now=clock.advance(timedelta(days=1)))
    keyring.retire_kek(old, now=clock.now())
    assert keyring.retired_keks() == [old]
    assert old_material not in path.read_text()
    assert keyring.tombstone_count() == 0  # no KEK that could open Alice's old key is left
    with pytest.raises(KeyDestroyedError, match="retired KEK"):
        keyring.unwrap(wrapped, BOB, 1)
    keyring.retire_kek(old, now=clock.now())  # idempotent
    with pytest.raises(KeyringError, match="not in this keyring"):
        keyring.retire_kek("kek-0042-deadbeef", now=clock.now())


def test_processes_sharing_the_file_see_each_others_changes(
    tmp_path: Path, clock: FakeClock
) -> None:
    path = tmp_path / KEYRING_FILENAME
    one, two = FileKeyring(path, clock=clock), FileKeyring(path)
    newer = one.add_kek(now=clock.now())
    assert two.active_kek() == newer.id
    two.destroy_subject(ALICE, now=clock.now())
    assert one.is_destroyed(ALICE)


def test_concurrent_writers_lose_no_tombstone(tmp_path: Path, clock: FakeClock) -> None:
    path = tmp_path / KEYRING_FILENAME
    FileKeyring(path, clock=clock)
    subjects = [uuid.uuid4() for _ in range(40)]

    def destroy(share: list[uuid.UUID]) -> None:
        keyring = FileKeyring(path)  # one instance per "process"
        for subject in share:
            keyring.destroy_subject(subject, now=clock.now())

    threads = [threading.Thread(target=destroy, args=(subjects[i::4],)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    fresh = FileKeyring(path)
    assert fresh.tombstone_count() == 40
    assert all(fresh.is_destroyed(subject) for subject in subjects)
    assert _mode(path) == 0o600


def test_no_key_material_in_reprs(tmp_path: Path, clock: FakeClock) -> None:
    path = tmp_path / KEYRING_FILENAME
    keyring = FileKeyring(path, clock=clock)
    wrapped = keyring.wrap(ALICE, 1, DEK)
    shown = " ".join(map(repr, [keyring, wrapped, *keyring.keks(), MemoryKeyring()]))
    for material in _materials(path):
        assert material not in shown
    assert wrapped.blob.hex() not in shown and repr(wrapped.blob) not in shown
