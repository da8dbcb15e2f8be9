"""``doorstep requests inquiries list|show|answer`` and ``doorstep inbox serve``'s refusals."""

from __future__ import annotations

import sqlalchemy as sa

from doorstep.core.runtime import Runtime
from doorstep.privacy.requests.context import RequestContext
from doorstep.privacy.requests.inquiries import intake
from doorstep.wiring import build_services
from tests.cli_run import doorstep
from tests.conftest import database_url_of


def test_the_desk_lists_reads_and_answers_from_the_command_line(committed: Runtime) -> None:
    ctx = RequestContext.of(build_services(committed))
    with committed.sessions.begin() as session:
        row = intake.submit_public(
            session, ctx, email="cli.asker@example.org", title="Logs", body="canary-cli"
        )
        reference = str(row.id)
    env = {
        "DOORSTEP_DATABASE_URL": database_url_of(committed.settings),
        "DOORSTEP_DATA_DIR": str(committed.settings.data_dir),  # the same keyring
    }

    listed = doorstep("requests", "inquiries", "list", env=env)
    assert listed.returncode == 0, listed.stderr
    header, line = listed.stdout.splitlines()
    assert header.split() == ["id", "channel", "queue", "received", "due", "answered", "flags"]
    assert line.split()[:3] == [reference, "web_form", "dpo"]
    assert "canary-cli" not in listed.stdout and "@" not in listed.stdout

    shown = doorstep("requests", "inquiries", "show", reference, env=env)
    assert shown.returncode == 0, shown.stderr
    assert "queue: dpo (ZTE Data Protection Compliance Department)" in shown.stdout
    assert "subject: Logs" in shown.stdout and "canary-cli" in shown.stdout

    answered = doorstep(
        "requests", "inquiries", "answer", reference, "--text", "Kept 6 years.", env=env
    )
    assert answered.returncode == 0, answered.stderr
    assert (
        doorstep(
            "requests", "inquiries", "answer", reference, "--text", "Again", env=env
        ).returncode
        == 1
    )
    assert doorstep("requests", "inquiries", "show", "not-a-uuid", env=env).returncode == 2
    with committed.sessions() as session:
        templates = session.execute(
            sa.text("SELECT template FROM outbox WHERE email = 'cli.asker@example.org'")
        ).scalars()
        assert sorted(templates) == ["inquiry.answered", "inquiry.received"]


def test_the_inbox_refuses_to_listen_beyond_loopback() -> None:
    refused = doorstep("inbox", "serve", "--host", "0.0.0.0")
    assert refused.returncode == 2
    assert "loopback" in refused.stderr
