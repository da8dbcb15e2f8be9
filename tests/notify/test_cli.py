"""``doorstep notify list | retry | cancel``, run as an operator would."""

from __future__ import annotations

import uuid

import pytest

from doorstep.core.runtime import Runtime
from doorstep.notify.delivery import Outcome, deliver
from doorstep.notify.exceptions import DeliveryError
from doorstep.notify.services import queue_email
from tests.conftest import database_url_of
from tests.notify.conftest import (
    audit_rows,
    canary_email,
    deliver_jobs,
    new_code,
    outbox_row,
    recording,
)
from tests.test_cli import doorstep


@pytest.fixture
def env(committed: Runtime) -> dict[str, str]:
    """The CLI's environment: the test database and this test's data directory."""
    return {
        "DOORSTEP_DATABASE_URL": database_url_of(committed.settings),
        "DOORSTEP_DATA_DIR": str(committed.settings.data_dir),
    }


def test_list_retry_and_cancel(committed: Runtime, env: dict[str, str]) -> None:
    addresses = [canary_email() for _ in range(3)]
    code = new_code()
    with committed.sessions.begin() as session:
        sent, failed, queued = (
            queue_email(
                session,
                subject_id=uuid.uuid4(),
                to=address,
                template="account.verify_email",
                params={"code": code},
                clock=committed.clock,
            )
            for address in addresses
        )
    adapters = recording()
    assert deliver(committed, sent, adapters) is Outcome.SENT
    adapters.mailer.fail_next(DeliveryError("recipient_refused", permanent=True))  # type: ignore[attr-defined]
    assert deliver(committed, failed, adapters) is Outcome.FAILED

    listing = doorstep("notify", "list", env=env)
    assert listing.returncode == 0, listing.stderr
    lines = listing.stdout.splitlines()
    assert lines[0].split() == ["id", "created", "channel", "template", "status", "tries", "error"]
    assert lines[-1] == "3 messages"
    by_id = {line.split()[0]: line.split() for line in lines[1:-1]}
    assert by_id[str(sent)][2:6] == ["email", "account.verify_email", "sent", "1"]
    assert by_id[str(failed)][4:7] == ["failed", "1", "recipient_refused"]
    assert by_id[str(queued)][4:7] == ["queued", "0", "-"]
    only_failed = doorstep("notify", "list", "--status", "failed", env=env)
    assert [line.split()[0] for line in only_failed.stdout.splitlines()[1:-1]] == [str(failed)]

    again = doorstep("notify", "retry", str(failed), env=env)
    assert again.returncode == 0, again.stderr
    assert again.stdout.strip() == f"message {failed} queued again"
    assert outbox_row(committed, failed).status == "queued"
    assert sum(job.args == {"outbox_id": str(failed)} for job in deliver_jobs(committed)) == 2
    assert [row.actor for row in audit_rows(committed, "notify.retried")] == ["system:cli"]

    not_failed = doorstep("notify", "retry", str(sent), env=env)
    assert not_failed.returncode == 1
    assert "only a failed message can be retried" in not_failed.stderr
    unknown = doorstep("notify", "retry", str(uuid.uuid4()), env=env)
    assert unknown.returncode == 1 and "no such message" in unknown.stderr
    assert doorstep("notify", "retry", "not-a-uuid", env=env).returncode == 2
    assert doorstep("notify", "list", "--status", "lost", env=env).returncode == 2

    cancelled = doorstep("notify", "cancel", str(queued), env=env)
    assert cancelled.returncode == 0, cancelled.stderr
    assert outbox_row(committed, queued).status == "cancelled"
    assert doorstep("notify", "cancel", str(queued), env=env).returncode == 1

    said = "".join(
        result.stdout + result.stderr for result in (listing, only_failed, again, not_failed)
    )
    for secret in (*addresses, code):
        assert secret not in said
