"""``doorstep keys status | rotate | retire``, run as an operator would."""

from __future__ import annotations

import json

import pytest

from doorstep.core.database import transaction
from doorstep.core.runtime import Runtime
from doorstep.keys.keyring import KEYRING_FILENAME, load_keyring
from doorstep.keys.services import KeyService
from tests.conftest import database_url_of
from tests.keys.conftest import PPPOE, new_subject
from tests.test_cli import doorstep


@pytest.fixture
def env(committed: Runtime) -> dict[str, str]:
    """The CLI's environment: the test database and this test's data directory."""
    return {
        "DOORSTEP_DATABASE_URL": database_url_of(committed.settings),
        "DOORSTEP_DATA_DIR": str(committed.settings.data_dir),
    }


def test_status_rotate_and_retire(committed: Runtime, env: dict[str, str]) -> None:
    keys = KeyService(load_keyring(committed.settings), committed.clock)
    with transaction(committed.sessions) as session:
        for _ in range(5):
            keys.encrypt(session, new_subject(session), "secret", context=PPPOE)
    first = keys.keyring.active_kek()

    status = doorstep("keys", "status", env=env)
    assert status.returncode == 0, status.stderr
    assert f"{first}  active  created" in status.stdout
    assert "5 subject keys" in status.stdout
    assert "tombstones in force: 0" in status.stdout

    rotate = doorstep("keys", "rotate", "--batch-size", "2", env=env)
    assert rotate.returncode == 0, rotate.stderr
    lines = rotate.stdout.splitlines()
    assert lines[0].startswith("new KEK kek-0002-") and lines[0].endswith(" is active")
    assert lines[1:4] == [f"re-wrapped {n}/5 subject keys" for n in (2, 4, 5)]
    assert keys.keyring.active_kek() != first  # this process sees the CLI's new KEK

    resume = doorstep("keys", "rotate", "--resume", env=env)
    assert resume.returncode == 0, resume.stderr
    assert "done: 0 subject keys re-wrapped" in resume.stdout

    assert "0 KEKs retired" in doorstep("keys", "retire", env=env).stdout  # grace period
    retire = doorstep("keys", "retire", "--keep-days", "0", env=env)
    assert retire.returncode == 0, retire.stderr
    assert f"retired {first}" in retire.stdout

    keyring_file = committed.settings.data_dir / KEYRING_FILENAME
    materials = [k["material"] for k in json.loads(keyring_file.read_text())["keks"]]
    said = status.stdout + rotate.stdout + retire.stdout + status.stderr + rotate.stderr
    assert all(material not in said for material in materials)


def test_a_keyring_others_can_read_stops_the_command(
    committed: Runtime, env: dict[str, str]
) -> None:
    load_keyring(committed.settings)
    keyring_file = committed.settings.data_dir / KEYRING_FILENAME
    keyring_file.chmod(0o644)
    result = doorstep("keys", "status", env=env)
    assert result.returncode == 2
    assert f"chmod 600 {keyring_file}" in result.stderr
