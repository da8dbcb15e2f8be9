"""``doorstep consent show / receipt / verify-receipt / public-key`` against a real database."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from doorstep.core.runtime import Runtime
from doorstep.core.settings import Settings
from doorstep.privacy.consent import grant, withdraw
from tests import cli_run
from tests.conftest import database_url_of
from tests.packs import reference_terms
from tests.privacy.conftest import CAMERA_NOTICE, NOTICE, audit_rows, new_subject


def doorstep(settings: Settings, *args: str) -> subprocess.CompletedProcess[str]:
    """Run ``doorstep ARGS`` in this process on the database and data dir of ``settings``."""
    env = {
        "DOORSTEP_ENV": "test",
        "DOORSTEP_DATABASE_URL": database_url_of(settings),
        "DOORSTEP_DATA_DIR": str(settings.data_dir),
    }
    return cli_run.doorstep(*args, env=env)


def test_show_lists_the_state_by_purpose_and_is_audited(committed: Runtime) -> None:
    clock = committed.clock
    with committed.sessions.begin() as session:
        subject = new_subject(session)
        grant(
            session,
            subject_id=subject,
            purpose="device.qr_camera",
            channel="app",
            notice_text=CAMERA_NOTICE,
            clock=clock,
            terms=reference_terms(),
        )
        grant(
            session,
            subject_id=subject,
            purpose="wifi.location_scan",
            channel="web",
            notice_text=NOTICE,
            clock=clock,
            terms=reference_terms(),
        )
        withdraw(
            session,
            subject_id=subject,
            purpose="wifi.location_scan",
            channel="web",
            clock=clock,
            terms=reference_terms(),
        )
    result = doorstep(committed.settings, "consent", "show", str(subject))
    assert result.returncode == 0, result.stderr
    lines = [line.split() for line in result.stdout.splitlines()]
    assert ["device.qr_camera", "granted", "app", "1.1", clock.now().isoformat()] in lines
    assert ["wifi.location_scan", "withdrawn", "web", "1.1", clock.now().isoformat()] in lines
    assert NOTICE not in result.stdout
    with committed.engine.connect() as connection:
        rows = audit_rows(connection, actor="system:cli", subject_id=subject)
    assert {row.element for row in rows} >= {"consent_events.action", "consent_events.purpose"}
    assert {row.purpose for row in rows} == {"consent.management"}


def test_show_refuses_bad_and_unknown_subjects(committed: Runtime) -> None:
    bad = doorstep(committed.settings, "consent", "show", "not-a-uuid")
    assert bad.returncode == 2
    assert "SUBJECT_ID must be a UUID" in bad.stderr
    unknown = doorstep(
        committed.settings, "consent", "show", "00000000-0000-4000-8000-000000000000"
    )
    assert unknown.returncode == 1
    assert "unknown_subject" in unknown.stderr


def test_a_receipt_round_trips_through_the_cli_and_a_tampered_one_fails(
    committed: Runtime, tmp_path: Path
) -> None:
    with committed.sessions.begin() as session:
        subject = new_subject(session)
        given = grant(
            session,
            subject_id=subject,
            purpose="wifi.location_scan",
            channel="app",
            notice_text=NOTICE,
            clock=committed.clock,
            terms=reference_terms(),
        )
    receipt = tmp_path / "receipt.jws"
    issued = doorstep(
        committed.settings, "consent", "receipt", str(given.id), "--out", str(receipt)
    )
    assert issued.returncode == 0, issued.stderr
    assert oct(receipt.stat().st_mode & 0o777) == "0o600"

    ok = doorstep(committed.settings, "consent", "verify-receipt", str(receipt))
    assert ok.returncode == 0, ok.stderr
    assert f"receipt {given.id} is valid: consent given for wifi.location_scan via app" in ok.stdout

    published = doorstep(committed.settings, "consent", "public-key")
    jwks = tmp_path / "jwks.json"
    jwks.write_text(published.stdout, encoding="utf-8")
    assert "d" not in json.loads(published.stdout)["keys"][0]  # the public half only
    by_jwk = doorstep(
        committed.settings, "consent", "verify-receipt", str(receipt), "--jwk", str(jwks)
    )
    assert by_jwk.returncode == 0, by_jwk.stderr

    header, payload, signature = receipt.read_text().strip().split(".")
    receipt.write_text(f"{header}.{payload[:-4]}AAAA.{signature}")
    tampered = doorstep(committed.settings, "consent", "verify-receipt", str(receipt))
    assert tampered.returncode == 1
    assert "receipt INVALID" in tampered.stderr
