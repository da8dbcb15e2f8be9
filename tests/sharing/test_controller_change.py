"""A change of controller: the successor recorded, subscribers told, the policy version bound.

CPE-III.2.b: a successor stays bound to the policy the subscribers accepted; new
terms apply to a subscriber only once they accept them.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from doorstep.core.clock import FakeClock
from doorstep.core.errors import InvalidInputError
from doorstep.core.runtime import Runtime
from doorstep.privacy.changes import controller
from doorstep.privacy.changes.notices import policy_of, respond
from doorstep.privacy.changes.publish import preview
from doorstep.privacy.policies import answers, versions
from doorstep.privacy.sharing.models import ControllerChange
from doorstep.services import Services
from tests.cli_run import doorstep
from tests.conftest import database_url_of
from tests.policies.conftest import in_days, new_account, pack_copy, publish_pack, services

__all__ = ["pack_copy", "services"]

ACTOR = "staff:00000000-0000-0000-0000-000000000009"
SUCCESSOR = "Acquirer Holdings Ltd"


def _successor(runtime: Runtime, **fields: Any) -> controller.Successor:
    values: dict[str, Any] = {
        "kind": "acquisition",
        "successor": SUCCESSOR,
        "contact": "privacy@acquirer.example",
        "effective_on": in_days(runtime, 10),
        **fields,
    }
    return controller.Successor(**values)


def _mails(db: Session) -> list[Any]:
    return list(
        db.execute(
            sa.text(
                "SELECT subject_id, locale, params FROM outbox "
                "WHERE template = 'controller.changed' ORDER BY subject_id"
            )
        )
    )


def _renamed(datamap: dict[str, Any], _consent: dict[str, Any]) -> None:
    datamap["controller"]["name"] = SUCCESSOR


@pytest.mark.clause("CPE-III.2.b")
def test_a_successor_is_recorded_everyone_told_once_and_new_terms_wait_for_acceptance(
    db: Session,
    services: Services,
    runtime: Runtime,
    clock: FakeClock,
    pack_copy: Callable[..., Path],
) -> None:
    versions.ensure_initial(db, services.pack, services.terms, clock)
    bound = versions.latest(db)
    assert bound is not None
    german, english, silent = (new_account(db, runtime) for _ in range(3))
    db.execute(sa.text("UPDATE accounts SET language = 'de' WHERE id = :id"), {"id": german})
    gone = new_account(db, runtime)
    db.execute(
        sa.text(
            "UPDATE accounts SET status = 'deregistered', deregistered_at = now() WHERE id = :id"
        ),
        {"id": gone},
    )
    new_terms = pack_copy("successor", _renamed)
    # Without a change of controller, renaming the controller is major but asks no one.
    assert not preview(db, services, new_terms).classification.requires_acceptance

    change = controller.record_change(db, services, _successor(runtime), actor=ACTOR)
    row = db.get(ControllerChange, change.id)
    assert row is not None
    assert (row.successor, row.policy_version) == (SUCCESSOR, bound.id)
    jobs = db.execute(
        sa.text("SELECT args FROM procrastinate_jobs WHERE task_name = :t"),
        {"t": controller.NOTIFY_TASK},
    ).scalars()
    assert list(jobs) == [{"change_id": str(change.id)}]

    assert controller.notify_all(services, change.id) >= 1
    mails = _mails(db)
    assert sorted(mail.subject_id for mail in mails) == sorted([german, english, silent])
    locales = {mail.subject_id: mail.locale for mail in mails}
    assert (locales[german], locales[english]) == ("de", "en")
    assert {mail.params["version"] for mail in mails} == {bound.id}
    # A second run (a retry, a second worker) tells no one twice.
    controller.notify_all(services, change.id)
    assert len(_mails(db)) == 3

    # The successor's new terms: a major version every subscriber must accept.
    version = publish_pack(db, services, new_terms, "2.0", in_days(runtime, 31))
    assert version.major and version.requires_acceptance
    assert any(item.area == "controller" and item.needs_consent for item in version.changes)
    respond(db, services, english, "2.0", accept=True, channel="app")
    clock.advance(timedelta(days=32))
    policy = policy_of(services)
    assert answers.governing(db, english, policy=policy, clock=clock).id == "2.0"
    # Whoever has not accepted stays under the version the successor is bound to.
    for subject in (german, silent):
        assert answers.governing(db, subject, policy=policy, clock=clock).id == bound.id


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("kind", "hostile_takeover"),
        ("successor", "  "),
        ("successor", "Acquirer\nBcc: x@example.org"),
        ("contact", "not an address"),
        ("effective_on", None),
    ],
)
def test_a_change_with_bad_input_is_refused_and_stores_nothing(
    db: Session, services: Services, runtime: Runtime, field: str, value: object
) -> None:
    if field == "effective_on":
        value = in_days(runtime, -1)
    with pytest.raises(InvalidInputError) as caught:
        controller.record_change(db, services, _successor(runtime, **{field: value}), actor=ACTOR)
    assert caught.value.fields["errors"][0]["field"] == field
    assert db.scalar(sa.select(sa.func.count()).select_from(ControllerChange)) == 0


def test_the_command_records_lists_and_refuses_bad_input_with_exit_2(committed: Runtime) -> None:
    env = {
        "DOORSTEP_DATABASE_URL": database_url_of(committed.settings),
        "DOORSTEP_DATA_DIR": str(committed.settings.data_dir),
    }
    day = (datetime.now(UTC) + timedelta(days=30)).date().isoformat()  # the real clock's
    base = ["policy", "change-controller", "--successor", SUCCESSOR]
    good = [*base, "--kind", "merger", "--contact", "privacy@acquirer.example"]
    for bad in (
        [*good, "--effective", "10 days from now"],
        [*base, "--kind", "merger", "--contact", "nobody", "--effective", day],
        [*base, "--kind", "takeover", "--contact", "privacy@acquirer.example", "--effective", day],
    ):
        refused = doorstep(*bad, env=env)
        assert refused.returncode == 2, refused.stdout
    with committed.sessions() as session:
        assert session.scalar(sa.select(sa.func.count()).select_from(ControllerChange)) == 0

    recorded = doorstep(*good, "--effective", day, env=env)
    assert recorded.returncode == 0, recorded.stderr
    change_id = uuid.UUID(recorded.stdout.split()[4].rstrip(","))
    listed = doorstep("policy", "controller-changes", env=env)
    assert listed.returncode == 0, listed.stderr
    fields = listed.stdout.strip().split("\t")
    assert fields[:4] == [str(change_id), "merger", SUCCESSOR, day]
