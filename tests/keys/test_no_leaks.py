"""No key material, plaintext or ciphertext in logs or errors, whatever happens."""

from __future__ import annotations

import base64
import io
import json
import logging
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from sqlalchemy.orm import Session, sessionmaker

from doorstep.core.clock import FakeClock
from doorstep.core.errors import DoorstepError
from doorstep.core.logging import guarded_formatter
from doorstep.core.settings import LogFormat
from doorstep.keys.keyring import FileKeyring, WrappedKey
from doorstep.keys.models import SubjectKey
from doorstep.keys.services import KeyService
from tests.keys.conftest import PPPOE, new_subject

SECRET = "hunter2-pppoe-Kx9"


@pytest.fixture
def log_lines() -> Iterator[io.StringIO]:
    """Every log line at DEBUG, formatted as production does (JSON, with extra fields)."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(guarded_formatter(LogFormat.JSON))
    root = logging.getLogger()
    old_level = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    yield stream
    root.removeHandler(handler)
    root.setLevel(old_level)


def _forms(data: bytes) -> list[str]:
    return [data.hex(), base64.b64encode(data).decode(), repr(data)[2:-1]]


@pytest.mark.clause("CPE-IV.1.a")
def test_nothing_secret_reaches_logs_or_errors(
    sessions: sessionmaker[Session], tmp_path: Path, clock: FakeClock, log_lines: io.StringIO
) -> None:
    keyring = FileKeyring(tmp_path / "keyring.json", clock=clock)
    keys = KeyService(keyring, clock)
    errors: list[DoorstepError] = []
    with sessions() as session:
        subject, other = new_subject(session), new_subject(session)
        sealed = keys.encrypt(session, subject, SECRET, context=PPPOE)
        keys.ensure_key(session, other)
        session.commit()
        row = session.get(SubjectKey, subject)
        assert row is not None
        dek = keyring.unwrap(WrappedKey(row.kek_id, row.wrapped_dek), subject, row.key_version)
        wrapped = row.wrapped_dek
        attempts: list[Callable[[], bytes]] = [
            lambda: keys.decrypt(session, other, sealed, context=PPPOE),
            lambda: keys.decrypt(
                session, subject, sealed[:-1] + bytes([sealed[-1] ^ 1]), context=PPPOE
            ),
            lambda: keys.decrypt(session, subject, sealed, context="devices.other"),
            lambda: keys.decrypt(session, subject, sealed[:10], context=PPPOE),
            lambda: keys.encrypt(session, subject, SECRET, context=SECRET),
        ]
        for attempt in attempts:
            with pytest.raises(DoorstepError) as caught:
                attempt()
            errors.append(caught.value)
        keys.add_kek()
        keys.rotate_kek(sessions, batch_size=1)
        keys.destroy(session, subject)
        session.commit()
        with pytest.raises(DoorstepError) as caught:
            keys.decrypt(session, subject, sealed, context=PPPOE)
        errors.append(caught.value)
    keks = [k["material"] for k in json.loads((tmp_path / "keyring.json").read_text())["keks"]]
    said = log_lines.getvalue() + "\n".join(
        f"{error} {error.detail} {json.dumps(error.fields, default=str)}" for error in errors
    )
    assert "re-wrapped" in said and "destroyed" in said  # the logs did say things
    forbidden = [SECRET, *keks, *_forms(dek), *_forms(sealed), *_forms(wrapped)]
    for value in forbidden:
        assert value not in said
