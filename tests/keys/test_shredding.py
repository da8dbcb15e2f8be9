"""Crypto-shredding: a backup taken before erasure cannot bring the subject's fields back.

The test takes a real backup with ``pg_dump`` of a database holding two
subjects' encrypted PPPoE passwords, erases one subject, restores the backup
into another database with ``pg_restore`` (the binaries matching the server's
major version, see :mod:`tests.keys.pgtools`), and reads it as a fresh process
would: the erased subject's field stays shut, the other subject's opens.  Then
it retires the KEK the backup's keys were wrapped under and shows that even
someone holding the keyring file *and* the backup cannot open the erased key.
"""

from __future__ import annotations

import base64
import json
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

from doorstep.core import migrations
from doorstep.core.clock import FakeClock
from doorstep.core.database import create_db_engine, make_session_factory, transaction
from doorstep.keys._local import _wrap_aad
from doorstep.keys.exceptions import KeyDestroyedError
from doorstep.keys.keyring import FileKeyring
from doorstep.keys.models import SubjectKey
from doorstep.keys.services import KeyService
from doorstep.privacy.subjects.models import Subject
from tests.conftest import _worker_id, fresh_database
from tests.keys.conftest import new_subject
from tests.keys.pgtools import pg_tool

CONTEXT = "vault.pppoe_password"
ERASED_SECRET = b"erased-pppoe-Zq7x"
KEPT_SECRET = b"kept-pppoe-Wm3k"


@pytest.fixture
def databases(server_url: str) -> Iterator[tuple[str, Engine, str, Engine]]:
    """A live database (migrated, with a table holding an encrypted field) and an empty one."""
    live_url = fresh_database(server_url, f"doorstep_test_{_worker_id()}_keys_live")
    restored_url = fresh_database(server_url, f"doorstep_test_{_worker_id()}_keys_restored")
    live = create_db_engine(live_url, pool_size=2)
    restored = create_db_engine(restored_url, pool_size=2)
    migrations.upgrade(live)
    with live.begin() as connection:
        connection.execute(
            sa.text("CREATE TABLE vault (subject_id uuid PRIMARY KEY, pppoe_password bytea)")
        )
    yield live_url, live, restored_url, restored
    live.dispose()
    restored.dispose()


def _sealed(session: Session, subject: uuid.UUID) -> bytes:
    query = sa.text("SELECT pppoe_password FROM vault WHERE subject_id = :s")
    return bytes(session.execute(query, {"s": subject}).scalar_one())


@pytest.mark.clause("CPE-V.3.d")
@pytest.mark.clause("CPE-IV.1.a")
def test_a_restored_backup_cannot_bring_back_an_erased_subjects_fields(
    databases: tuple[str, Engine, str, Engine], tmp_path: Path, clock: FakeClock
) -> None:
    live_url, live, restored_url, restored = databases
    keyring_path = tmp_path / "data" / "keyring.json"
    keys = KeyService(FileKeyring(keyring_path, clock=clock), clock)
    sessions = make_session_factory(live)
    with transaction(sessions) as session:
        erased, kept = new_subject(session), new_subject(session)
        for subject, secret in ((erased, ERASED_SECRET), (kept, KEPT_SECRET)):
            session.execute(
                sa.text("INSERT INTO vault VALUES (:s, :p)"),
                {"s": subject, "p": keys.encrypt(session, subject, secret, context=CONTEXT)},
            )

    # The nightly backup, uncompressed so that a plaintext in it could be seen.
    backup = tmp_path / "before-erasure.dump"
    subprocess.run(
        [pg_tool("pg_dump", live_url), "-Fc", "-Z0", "-d", live_url, "-f", backup], check=True
    )
    assert ERASED_SECRET not in backup.read_bytes()
    assert KEPT_SECRET not in backup.read_bytes()

    # Erasure: destroy the key, then the rows (the foreign key insists on that order).
    with transaction(sessions) as session:
        keys.destroy(session, erased)
        session.execute(sa.text("DELETE FROM vault WHERE subject_id = :s"), {"s": erased})
        session.execute(sa.delete(Subject).where(Subject.id == erased))

    # Disaster recovery: the backup comes back, read by a new process with an empty cache.
    subprocess.run(
        [pg_tool("pg_restore", restored_url), "--no-owner", "-d", restored_url, backup],
        check=True,
    )
    after_restore = KeyService(FileKeyring(keyring_path), clock)
    with make_session_factory(restored)() as session:
        assert session.get(SubjectKey, erased) is not None  # the wrapped key came back…
        with pytest.raises(KeyDestroyedError):  # …and is useless
            after_restore.decrypt(session, erased, _sealed(session, erased), context=CONTEXT)
        with pytest.raises(KeyDestroyedError):
            after_restore.encrypt(session, erased, b"new", context=CONTEXT)
        assert after_restore.decrypt(session, kept, _sealed(session, kept), context=CONTEXT) == (
            KEPT_SECRET
        )
        wrapped_in_backup = session.get(SubjectKey, erased)
        assert wrapped_in_backup is not None
        old_kek = wrapped_in_backup.kek_id

    # Finality: rotate the live database and retire the old KEK (after the backup
    # retention, here at once).  The tombstone is no longer needed: no KEK that could
    # open the backup's copy of the key exists any more, for anyone.
    keys.add_kek()
    assert keys.rotate_kek(sessions) == 1
    with transaction(sessions) as session:
        assert keys.retire_keks(session) == [old_kek]
    assert keys.keyring.tombstone_count() == 0
    _no_kek_in_the_keyring_file_opens(keyring_path, wrapped_in_backup)
    finally_ = KeyService(FileKeyring(keyring_path), clock)
    with make_session_factory(restored)() as session:
        with pytest.raises(KeyDestroyedError, match="retired KEK"):
            finally_.decrypt(session, erased, _sealed(session, erased), context=CONTEXT)
        # The price, and why retirement waits for the backup retention: a backup
        # older than the retirement has lost every secret field, not only the erased ones.
        with pytest.raises(KeyDestroyedError, match="retired KEK"):
            finally_.decrypt(session, kept, _sealed(session, kept), context=CONTEXT)
    with sessionmaker(bind=live)() as session:  # the live database is unaffected
        assert finally_.decrypt(session, kept, _sealed(session, kept), context=CONTEXT) == (
            KEPT_SECRET
        )


def _no_kek_in_the_keyring_file_opens(keyring_path: Path, row: SubjectKey) -> None:
    """What an attacker holding the keyring file and the backup would try."""
    document = json.loads(keyring_path.read_text())
    assert row.kek_id not in {kek["id"] for kek in document["keks"]}
    aad = _wrap_aad(row.kek_id, row.subject_id, row.key_version)
    blob = row.wrapped_dek
    for kek in document["keks"]:
        with pytest.raises(InvalidTag):
            AESGCM(base64.b64decode(kek["material"])).decrypt(blob[1:13], blob[13:], aad)
