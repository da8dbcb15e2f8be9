"""Who an incident affects: each subject's jurisdiction, and computing again changes nothing."""

from __future__ import annotations

import uuid
from datetime import timedelta

import sqlalchemy as sa
from sqlalchemy.orm import Session

from doorstep.core.clock import FakeClock
from doorstep.privacy.datamap.incident_rules import IncidentRules, JurisdictionRule
from doorstep.privacy.incidents import services as svc
from doorstep.privacy.incidents.affected import Scope, compute
from doorstep.privacy.incidents.context import IncidentContext
from tests.incidents.conftest import STAFF, device, subscriber

#: Codes of one, two and three digits that begin one another: the longest must win.
RULES = IncidentRules(
    home="HOME",
    jurisdictions={
        "HOME": JurisdictionRule("HOME", "the home authority"),
        "ONE": JurisdictionRule("ONE", "authority one", calling_codes=("1",)),
        "TWELVE": JurisdictionRule("TWELVE", "authority twelve", calling_codes=("12",)),
        "THREE": JurisdictionRule("THREE", "authority three", calling_codes=("123", "49")),
    },
)


def _jurisdictions(db: Session, incident_id: uuid.UUID) -> dict[uuid.UUID, str]:
    rows = db.execute(
        sa.text("SELECT subject_id, jurisdiction FROM incident_subjects WHERE incident_id = :i"),
        {"i": incident_id},
    )
    return {row.subject_id: row.jurisdiction for row in rows}


def test_the_longest_calling_code_that_begins_the_number_names_the_jurisdiction(
    db: Session, ctx: IncidentContext, clock: FakeClock
) -> None:
    expected = {
        subscriber(db, email="a@example.org", phone="+1234567890"): "THREE",
        subscriber(db, email="b@example.org", phone="+1256789012"): "TWELVE",
        subscriber(db, email="c@example.org", phone="+1987654321"): "ONE",
        subscriber(db, email="e@example.org", phone="+4915112345678"): "THREE",
        subscriber(db, email="f@example.org", phone="+8613812345678"): "HOME",
        subscriber(db, email="h@example.org"): "HOME",  # no mobile number
        subscriber(db): "HOME",  # no account at all
    }
    incident = svc.open_incident(db, ctx, kind="loss", actor=STAFF)
    scope = Scope(window_start=None, window_end=clock.now(), subject_ids=tuple(expected))

    added = compute(db, incident.id, scope, RULES, clock.now())

    assert added == len(expected)
    assert _jurisdictions(db, incident.id) == expected


def test_computing_again_adds_only_new_subjects_and_keeps_every_status(
    db: Session, ctx: IncidentContext, clock: FakeClock
) -> None:
    start = clock.now() - timedelta(days=3)
    first = subscriber(db, email="first@example.org", phone="+4915112345000")
    device(db, "DR-1000", first, start)
    incident = svc.open_incident(db, ctx, kind="disclosure", actor=STAFF, device_models=["DR-1000"])
    db.execute(
        sa.text(
            "UPDATE incident_subjects SET status = 'notified', notified_at = :at "
            "WHERE incident_id = :i"
        ),
        {"at": clock.now(), "i": incident.id},
    )
    second = subscriber(db, email="second@example.org", phone="+8613812345000")
    device(db, "DR-1000", second, start)
    clock.advance(timedelta(hours=1))

    added = svc.recompute(db, ctx, svc.get(db, incident.id, lock=True), STAFF)
    again = svc.recompute(db, ctx, svc.get(db, incident.id, lock=True), STAFF)

    assert (added, again) == (1, 0)
    rows = db.execute(
        sa.text(
            "SELECT subject_id, status, added_at FROM incident_subjects WHERE incident_id = :i"
        ),
        {"i": incident.id},
    ).all()
    found = {row.subject_id: row for row in rows}
    assert set(found) == {first, second}
    assert found[first].status == "notified"
    assert found[first].added_at < found[second].added_at
    assert found[second].status == "pending"
    assert incident.affected_count == 2
