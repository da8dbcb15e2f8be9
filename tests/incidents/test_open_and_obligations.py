"""Opening an incident: tasks, affected subjects by jurisdiction, obligations on their clocks."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from doorstep.core.clock import FakeClock
from doorstep.core.errors import InvalidInputError
from doorstep.privacy.incidents import services as svc
from doorstep.privacy.incidents.context import IncidentContext
from doorstep.privacy.incidents.models import Incident, IncidentTask
from doorstep.privacy.incidents.reports import obligations
from tests.incidents.conftest import STAFF, device, log_of, subscriber


@pytest.mark.clause("CPE-IV.2.e")
def test_a_disclosure_opens_the_plan_and_obligations_due_by_jurisdiction(
    db: Session, ctx: IncidentContext, clock: FakeClock
) -> None:
    start = clock.now() - timedelta(days=3)
    eu = subscriber(db, email="eu@example.org", phone="+4915112345678")
    cn = subscriber(db, email="cn@example.org", phone="+8613812345678")
    device(db, "DR-1000", eu, start)
    device(db, "DR-1000", cn, start)
    aware = clock.now() - timedelta(hours=2)

    incident = svc.open_incident(
        db, ctx, kind="disclosure", actor=STAFF, aware_at=aware, device_models=["DR-1000"]
    )

    tasks = db.execute(sa.select(IncidentTask.kind).where(IncidentTask.incident_id == incident.id))
    assert sorted(tasks.scalars()) == ["assess", "contain"]
    due = {(row.party, row.jurisdiction): row for row in obligations(db, incident.id)}
    assert set(due) == {
        ("authority", "EU"),
        ("subjects", "EU"),
        ("authority", "CN"),
        ("subjects", "CN"),
    }
    assert due[("authority", "EU")].due_at == aware + timedelta(hours=72)  # GDPR Art. 33
    assert due[("authority", "CN")].due_at == aware  # PIPL Art. 57: immediately
    assert due[("subjects", "EU")].due_at == aware + timedelta(hours=72)
    assert due[("subjects", "CN")].due_at == aware + timedelta(hours=72)
    assert due[("authority", "EU")].status == "draft"
    assert due[("subjects", "CN")].status == "open"
    assert incident.affected_count == 2
    assert "incident.opened" in log_of(db, incident.id)


def test_the_settings_shorten_the_packs_clock_never_lengthen_it(
    db: Session, ctx: IncidentContext, clock: FakeClock
) -> None:
    shorter = IncidentContext(
        ctx.rules, ctx.settings.model_copy(update={"incident_authority_hours": 24}), clock
    )
    incident = svc.open_incident(db, shorter, kind="loss", actor=STAFF, jurisdictions=["EU", "CN"])
    due = {(row.party, row.jurisdiction): row.due_at for row in obligations(db, incident.id)}
    assert due[("authority", "EU")] == incident.aware_at + timedelta(hours=24)
    assert due[("authority", "CN")] == incident.aware_at  # the pack's 0 stays


@pytest.mark.clause("CORP-5.7")
def test_an_alteration_affecting_ten_users_creates_ten_notification_tasks(
    db: Session, ctx: IncidentContext, clock: FakeClock
) -> None:
    users = [subscriber(db, email=f"u{n}@example.org") for n in range(10)]
    bystander = subscriber(db, email="other@example.org")
    incident = svc.open_incident(db, ctx, kind="alteration", actor=STAFF, subject_ids=users)
    rows = db.execute(
        sa.text("SELECT subject_id, status FROM incident_subjects WHERE incident_id = :i"),
        {"i": incident.id},
    ).all()
    assert sorted(row.subject_id for row in rows) == sorted(users)
    assert {row.status for row in rows} == {"pending"}
    assert bystander not in {row.subject_id for row in rows}


def test_the_window_decides_which_bindings_count(
    db: Session, ctx: IncidentContext, clock: FakeClock
) -> None:
    now = clock.now()
    inside = subscriber(db, email="in@example.org")
    ended_before = subscriber(db, email="before@example.org")
    began_after = subscriber(db, email="after@example.org")
    other_model = subscriber(db, email="model@example.org")
    device(db, "DG-2000", inside, now - timedelta(days=30))
    device(db, "DG-2000", ended_before, now - timedelta(days=30), now - timedelta(days=20))
    device(db, "DG-2000", began_after, now - timedelta(days=2))
    device(db, "DR-1000", other_model, now - timedelta(days=30))
    incident = svc.open_incident(
        db,
        ctx,
        kind="unauthorised_access",
        actor=STAFF,
        device_models=["DG-2000"],
        window_start=now - timedelta(days=10),
        window_end=now - timedelta(days=5),
    )
    found = db.execute(
        sa.text("SELECT subject_id FROM incident_subjects WHERE incident_id = :i"),
        {"i": incident.id},
    ).scalars()
    assert set(found) == {inside}


def test_an_element_finds_the_subjects_holding_it_and_the_audit_trail_those_who_used_it(
    db: Session, ctx: IncidentContext, clock: FakeClock
) -> None:
    holder = subscriber(db, email="holder@example.org")
    db.execute(
        sa.text(
            "INSERT INTO audit_events (at, actor, action, element, subject_id, outcome, details) "
            "VALUES (:at, 'system:test', 'read', 'outbox.email', :s, 'ok', '{}')"
        ),
        {"at": clock.now() - timedelta(hours=1), "s": holder},
    )
    incident = svc.open_incident(
        db, ctx, kind="loss", actor=STAFF, elements=["accounts.phone"], systems=["outbox"]
    )
    found = set(
        db.execute(
            sa.text("SELECT subject_id FROM incident_subjects WHERE incident_id = :i"),
            {"i": incident.id},
        ).scalars()
    )
    assert holder in found  # holds an accounts row, and the audit trail names it for outbox


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"kind": "theft"}, "kind"),
        ({"kind": "loss", "elements": ["accounts.nothing"]}, "elements"),
        ({"kind": "loss", "elements": ["outbox.channel"]}, "elements"),
        ({"kind": "loss", "systems": ["no_such_table"]}, "systems"),
        ({"kind": "loss", "jurisdictions": ["MARS"]}, "jurisdictions"),
        ({"kind": "loss", "aware_in_future": True}, "aware_at"),
    ],
)
def test_bad_input_is_refused_with_its_field_and_nothing_changes(
    db: Session, ctx: IncidentContext, clock: FakeClock, fields: dict[str, object], field: str
) -> None:
    if fields.pop("aware_in_future", False):
        fields["aware_at"] = clock.now() + timedelta(hours=1)
    with pytest.raises(InvalidInputError) as refused:
        svc.open_incident(db, ctx, actor=STAFF, **fields)  # type: ignore[arg-type]
    assert refused.value.fields["errors"][0]["field"] == field
    assert db.execute(sa.select(sa.func.count()).select_from(Incident)).scalar_one() == 0
