"""A major change: notices on every channel, the answer, and the old version governing refusers.

Decision 0019: e-mail describing the specific changes plus SMS where the number
is proven (CPE-VII.3, CORP-8.2), a notice in the privacy center and the app API
until the subscriber answers, and the version they accepted governing those who
do not accept (CPE-VII.1) — the purpose gate refuses what only the new version allows.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from doorstep.core.clock import FakeClock
from doorstep.core.runtime import Runtime
from doorstep.privacy.changes.fanout import notify_all
from doorstep.privacy.changes.notices import open_notices, policy_of, respond
from doorstep.privacy.datamap.pack import DEFAULT_PACK
from doorstep.privacy.policies import answers, versions
from doorstep.privacy.policies.classify import Classification
from doorstep.privacy.policies.facts import facts_of
from doorstep.privacy.purposes import RefusalReason
from doorstep.services import Services
from tests.policies.conftest import in_days, new_account, publish_pack

NEW_PURPOSE = "customer.support"


def _old_version_without(db: Session, services: Services, runtime: Runtime) -> None:
    """Version 1.1, in force since 2025, which did not have ``customer.support``."""
    facts = facts_of(services.pack, services.terms)
    older = facts.to_json()
    del older["purposes"][NEW_PURPOSE]
    versions.store(
        db,
        version_id="1.1",
        effective_at=versions.start_of(in_days(runtime, -365)),
        summary="The first version.",
        facts=type(facts).from_json(older),
        documents={},
        classification=Classification(()),
        major=False,
        minor_reason=None,
        clock=runtime.clock,
    )


def _outbox(db: Session, template: str) -> list[Any]:
    return list(
        db.execute(
            sa.text("SELECT subject_id, channel FROM outbox WHERE template = :t"),
            {"t": template},
        )
    )


@pytest.mark.clause("CPE-VII.1")
def test_a_version_that_needs_consent_governs_only_those_who_accept_it(
    db: Session, services: Services, runtime: Runtime, clock: FakeClock
) -> None:
    _old_version_without(db, services, runtime)
    version = publish_pack(db, services, DEFAULT_PACK, "1.2", in_days(runtime, 31))
    assert version.major and version.requires_acceptance
    accepting, refusing = new_account(db, runtime), new_account(db, runtime)
    respond(db, services, accepting, "1.2", accept=True, channel="app")
    outcome = respond(db, services, refusing, "1.2", accept=False, channel="web")
    assert outcome.governing == "1.1" and not outcome.offer_deregistration
    clock.advance(timedelta(days=32))
    policy = policy_of(services)
    assert answers.governing(db, accepting, policy=policy, clock=clock).id == "1.2"
    assert answers.governing(db, refusing, policy=policy, clock=clock).id == "1.1"
    gate = services.gate
    allowed = gate.for_subject(db, accepting, actor="system:test")
    held = gate.for_subject(db, refusing, actor="system:test")
    assert allowed.reason("accounts.email", NEW_PURPOSE) is None
    assert held.reason("accounts.email", NEW_PURPOSE) is RefusalReason.POLICY_NOT_ACCEPTED
    # What the old version allowed still works for the one who refused.
    assert held.reason("accounts.email", "account.management") is None
    # A subscriber who never answered is governed by the old version too.
    silent = new_account(db, runtime)
    assert answers.governing(db, silent, policy=policy, clock=clock).id == "1.1"
    # Accepting later moves them on.
    respond(db, services, refusing, "1.2", accept=True, channel="web")
    assert (
        gate.for_subject(db, refusing, actor="system:test").reason("accounts.email", NEW_PURPOSE)
        is None
    )


@pytest.mark.clause("CPE-VII.3")
@pytest.mark.clause("CORP-8.2")
def test_a_major_change_notifies_every_subscriber_before_it_takes_effect_once(
    client: TestClient, db: Session, services: Services, runtime: Runtime
) -> None:
    _old_version_without(db, services, runtime)
    with_phone = new_account(db, runtime, phone="+4915112345678")
    email_only = new_account(db, runtime)
    version = publish_pack(
        db, services, DEFAULT_PACK, "1.2", in_days(runtime, 30), summary="Support may reach you."
    )
    assert version.effective_at >= runtime.clock.now() + timedelta(days=30)
    assert notify_all(services, "1.2") == 2
    mails = _outbox(db, "policy.changed")
    assert sorted(row.subject_id for row in mails) == sorted([with_phone, email_only])
    assert [row.subject_id for row in _outbox(db, "policy.changed_sms")] == [with_phone]
    params = db.execute(
        sa.text("SELECT params FROM outbox WHERE template = 'policy.changed' LIMIT 1")
    ).scalar_one()
    assert f"purposes: {NEW_PURPOSE} added" in params["changes"]
    assert params["effective"] == version.effective_at.date().isoformat()
    # A second run (a retry, a second worker) tells no one twice.
    assert notify_all(services, "1.2") == 0
    assert len(_outbox(db, "policy.changed")) == 2
    # The notice stays in the privacy center and the app until they answer.
    assert [item.id for item in open_notices(db, services, email_only)] == ["1.2"]
    respond(db, services, email_only, "1.2", accept=False, channel="app")
    assert open_notices(db, services, email_only) == []
    assert [item.id for item in open_notices(db, services, with_phone)] == ["1.2"]


def test_a_minor_version_sends_nothing_and_needs_no_answer(
    db: Session, services: Services, runtime: Runtime, pack_copy: Any
) -> None:
    versions.ensure_initial(db, services.pack, services.terms, runtime.clock)
    subscriber = new_account(db, runtime)
    folder = pack_copy("minor")
    (folder / "notes.md").write_text("A note.\n", "utf-8")
    version = publish_pack(db, services, folder, "1.2", in_days(runtime, 0))
    assert not version.major
    assert notify_all(services, "1.2") == 0
    assert _outbox(db, "policy.changed") == []
    assert open_notices(db, services, subscriber) == []
