"""`doorstep audit verify|seal|checkpoint` and the periodic sealer and checkpointer."""

from __future__ import annotations

import uuid

import pytest
import sqlalchemy as sa

from doorstep.audit.services import record
from doorstep.audit.tasks import SEAL_PER_TRANSACTION, seal_all, take_checkpoint
from doorstep.core.runtime import Runtime
from doorstep.jobs.registry import declared_tasks
from tests.audit.conftest import count, record_many
from tests.conftest import database_url_of
from tests.test_cli import doorstep


def test_the_sealer_and_checkpointer_are_periodic_jobs() -> None:
    tasks = declared_tasks()
    assert tasks["doorstep.audit.seal"].cron == "* * * * *"
    assert tasks["doorstep.audit.checkpoint"].cron == "23 * * * *"


def test_seal_all_catches_up_in_bounded_transactions(
    committed: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("doorstep.audit.tasks.SEAL_PER_TRANSACTION", 7)
    with committed.sessions.begin() as session:
        record_many(session, 30)
    assert seal_all(committed) == 30
    assert take_checkpoint(committed) == 30
    assert take_checkpoint(committed) is None
    with committed.engine.connect() as connection:
        assert count(connection, "audit_pending") == 0
        assert count(connection, "audit_checkpoints") == 1
    assert SEAL_PER_TRANSACTION >= 10_000


@pytest.mark.clause("CPE-IV.1.a")
def test_cli_verify_reports_the_first_broken_link_without_values(committed: Runtime) -> None:
    env = {"DOORSTEP_DATABASE_URL": database_url_of(committed.settings)}
    subject = uuid.uuid4()
    with committed.sessions.begin() as session:
        for index in range(6):
            record(
                session,
                action="subject.read",
                actor=f"staff:{subject}",
                subject_id=subject,
                details={"index": index},
            )
    sealed = doorstep("audit", "seal", env=env)
    assert (sealed.returncode, sealed.stdout.strip()) == (0, "sealed 6 audit events"), sealed.stderr
    checkpointed = doorstep("audit", "checkpoint", env=env)
    assert checkpointed.returncode == 0, checkpointed.stderr
    assert "checkpoint at seq 6" in checkpointed.stdout

    good = doorstep("audit", "verify", env=env)
    assert good.returncode == 0, good.stderr
    assert "6 links checked" in good.stdout

    with committed.engine.begin() as connection:
        connection.execute(sa.text("SET LOCAL session_replication_role = replica"))
        connection.execute(
            sa.text(
                "UPDATE audit_events SET outcome = 'refused' "
                "WHERE id = (SELECT event_id FROM audit_chain WHERE seq = 4)"
            )
        )
    bad = doorstep("audit", "verify", env=env)
    assert bad.returncode == 1
    assert "BROKEN at seq 4" in bad.stderr
    assert "3 links verified" in bad.stderr
    assert str(subject) not in bad.stdout + bad.stderr  # ids of events never, values never
    refused = doorstep("audit", "checkpoint", env=env)
    assert refused.returncode == 0  # nothing new since the checkpoint at 6: nothing to vouch for
    assert "nothing new" in refused.stdout
