"""``doorstep connectors credentials set | list | remove``, run as an operator would."""

from __future__ import annotations

import sqlalchemy as sa

from doorstep.core.database import transaction
from doorstep.core.runtime import Runtime
from doorstep.privacy.connectors.credentials import get_secret
from doorstep.privacy.connectors.models import ConnectorCredential
from doorstep.wiring import build_services
from tests.cli_run import doorstep
from tests.conftest import database_url_of

SECRET = "pa55-w0rd-for-the-newsletter-signing"


def _env(runtime: Runtime) -> dict[str, str]:
    return {
        "DOORSTEP_DATABASE_URL": database_url_of(runtime.settings),
        "DOORSTEP_DATA_DIR": str(runtime.settings.data_dir),
    }


def _stored(runtime: Runtime) -> list[tuple[str, bytes, bytes]]:
    with transaction(runtime.sessions) as session:
        rows = session.execute(
            sa.select(
                ConnectorCredential.system,
                ConnectorCredential.secret,
                ConnectorCredential.wrapped_key,
            )
        ).all()
    return [(row.system, row.secret, row.wrapped_key) for row in rows]


def test_set_stores_the_secret_sealed_and_nothing_prints_it(committed: Runtime) -> None:
    env = _env(committed)
    before = doorstep("connectors", "credentials", "list", env=env)
    assert before.returncode == 0, before.stderr
    assert "newsletter  http  none" in before.stdout.splitlines()
    assert "tickets" not in before.stdout  # a manual system takes no credentials

    done = doorstep("connectors", "credentials", "set", "newsletter", env=env, stdin=SECRET + "\n")
    assert done.returncode == 0, done.stderr
    assert "credentials of system newsletter stored" in done.stdout

    [(system, sealed, wrapped)] = _stored(committed)
    assert system == "newsletter"
    assert SECRET.encode() not in sealed and SECRET.encode() not in wrapped
    with transaction(committed.sessions) as session:
        text = session.execute(
            sa.text("SELECT secret::text || wrapped_key::text FROM connector_credentials")
        ).scalar_one()
        assert SECRET not in text
        keyring = build_services(committed).keys.keyring
        assert get_secret(session, keyring, "newsletter") == SECRET  # newline not kept

    after = doorstep("connectors", "credentials", "list", env=env)
    assert after.returncode == 0, after.stderr
    [line] = [line for line in after.stdout.splitlines() if line.startswith("newsletter")]
    assert line.startswith("newsletter  http  set ") and line.endswith(" UTC")

    removed = doorstep("connectors", "credentials", "remove", "newsletter", env=env)
    assert removed.returncode == 0, removed.stderr
    assert _stored(committed) == []
    again = doorstep("connectors", "credentials", "remove", "newsletter", env=env)
    assert again.returncode == 1

    said = "".join(r.stdout + r.stderr for r in (before, done, after, removed, again))
    assert SECRET not in said


def test_bad_input_exits_2_and_stores_nothing(committed: Runtime) -> None:
    env = _env(committed)
    unknown = doorstep("connectors", "credentials", "set", "nowhere", env=env, stdin=SECRET)
    manual = doorstep("connectors", "credentials", "set", "tickets", env=env, stdin=SECRET)
    empty = doorstep("connectors", "credentials", "set", "newsletter", env=env, stdin="\n")
    for result in (unknown, manual, empty):
        assert result.returncode == 2, result.stdout + result.stderr
        assert SECRET not in result.stdout + result.stderr
    assert "not declared" in unknown.stderr
    assert "manual system" in manual.stderr
    assert "empty" in empty.stderr
    assert _stored(committed) == []


def test_the_secret_is_never_an_argument(committed: Runtime) -> None:
    result = doorstep("connectors", "credentials", "set", "newsletter", SECRET, env=_env(committed))
    assert result.returncode == 2
    assert _stored(committed) == []
