"""``doorstep controls …`` on the test's database (the runtime is the test's)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta

import pytest
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from doorstep.core.clock import FakeClock
from doorstep.core.runtime import Runtime
from doorstep.privacy.controls import cli
from tests.controls.conftest import area_events, count


@pytest.fixture
def run(runtime: Runtime) -> Iterator[CliRunner]:
    """A runner whose commands use the test's runtime."""

    @contextmanager
    def same() -> Iterator[Runtime]:
        yield runtime

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(cli, "_open", same)
        yield CliRunner()


@pytest.mark.clause("CPE-IV.2.d")
def test_the_compliance_check_fails_with_certification_claim_unsupported_once_it_expires(
    run: CliRunner, db: Session, clock: FakeClock
) -> None:
    added = run.invoke(
        cli.app,
        [
            "add",
            "--kind",
            "certificate",
            "--name",
            "ISO/IEC 27001",
            "--owner",
            "ciso",
            "--scope",
            "Cloud services",
        ],
    )
    assert added.exit_code == 0, added.output
    control_id = added.output.strip()
    today = clock.now().date()
    recorded = run.invoke(
        cli.app,
        [
            "record",
            control_id,
            "--on",
            (today - timedelta(days=400)).isoformat(),
            "--valid-until",
            (today - timedelta(days=1)).isoformat(),
            "--issued-by",
            "Example Certification Body",
            "--evidence",
            "CERT-27001-0042",
        ],
    )
    assert recorded.exit_code == 0, recorded.output
    assert recorded.output.startswith("expired, due ")
    listed = run.invoke(cli.app, ["list"])
    assert control_id in listed.output and "expired" in listed.output
    status = run.invoke(cli.app, ["status"])
    assert status.exit_code == 1, status.output
    assert f"FLAGGED certification_claim_unsupported: certificate expired ({control_id})" in (
        status.output
    )

    renewed = run.invoke(
        cli.app,
        [
            "record",
            control_id,
            "--on",
            today.isoformat(),
            "--valid-until",
            (today + timedelta(days=1095)).isoformat(),
            "--issued-by",
            "Example Certification Body",
            "--evidence",
            "https://certs.example.com/27001-0043.pdf",
        ],
    )
    assert renewed.exit_code == 0, renewed.output
    status = run.invoke(cli.app, ["status"])
    assert "supported certification" in status.output
    assert "certification_claim_unsupported" not in status.output


@pytest.mark.clause("CPE-IV.5")
def test_an_assessment_is_added_published_and_sent_from_the_command_line(
    run: CliRunner, db: Session, clock: FakeClock
) -> None:
    control_id = run.invoke(
        cli.app,
        ["add", "--kind", "security_impact_assessment", "--name", "PIA", "--owner", "dpo"],
    ).output.strip()
    args = ["--on", clock.now().date().isoformat(), "--risk", "low", "--summary", "Low risk."]
    version = run.invoke(cli.app, ["assess", control_id, *args, "--evidence", "PIA-1"])
    assert version.output.strip() == "1", version.output
    unsent = run.invoke(cli.app, ["send", control_id, "--to", "asker@example.org"])
    assert unsent.exit_code == 1 and "published" in unsent.output
    assert run.invoke(cli.app, ["publish", control_id, "1"]).exit_code == 0
    sent = run.invoke(cli.app, ["send", control_id, "--to", "asker@example.org"])
    assert sent.exit_code == 0, sent.output
    assert count(db, "outbox") == 1


def test_bad_input_is_exit_2_and_changes_nothing(run: CliRunner, db: Session) -> None:
    before = (count(db, "controls"), area_events(db))
    bad_owner = run.invoke(
        cli.app, ["add", "--kind", "continuity_plan", "--name", "BCP", "--owner", "Jane Doe"]
    )
    assert bad_owner.exit_code == 2 and "owner_role: role_name" in bad_owner.output
    bad_kind = run.invoke(cli.app, ["add", "--kind", "nope", "--name", "x", "--owner", "ciso"])
    assert bad_kind.exit_code == 2
    control_id = run.invoke(
        cli.app, ["add", "--kind", "continuity_plan", "--name", "BCP", "--owner", "ciso"]
    ).output.strip()
    after_add = (count(db, "controls"), area_events(db))
    bad_date = run.invoke(
        cli.app, ["record", control_id, "--on", "31.03.2026", "--evidence", "BCP-1"]
    )
    assert bad_date.exit_code == 2 and "--on must be a date" in bad_date.output
    bad_id = run.invoke(cli.app, ["record", "nope", "--on", "2025-01-01", "--evidence", "B-1"])
    assert bad_id.exit_code == 2
    assert before[0] + 1 == after_add[0]
    assert (count(db, "controls"), area_events(db)) == after_add
    assert count(db, "control_evidence") == 0
