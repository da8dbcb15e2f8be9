"""Regulator reports per jurisdiction: status, filing time, overdue alert, the export."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from doorstep.audit.services import flush_events
from doorstep.core.clock import FakeClock
from doorstep.core.errors import ConflictError, InvalidInputError
from doorstep.privacy.datamap.pack import default_pack
from doorstep.privacy.incidents import reports
from doorstep.privacy.incidents import services as svc
from doorstep.privacy.incidents.context import IncidentContext
from doorstep.privacy.incidents.notices import set_notice
from tests.incidents.conftest import FIVE_PARTS, STAFF, log_of, subscriber


@pytest.mark.clause("CPE-IV.7.d")
def test_each_affected_jurisdiction_has_a_report_with_status_filing_time_and_overdue_alert(
    db: Session, ctx: IncidentContext, clock: FakeClock
) -> None:
    eu = subscriber(db, email="eu@example.org", phone="+33612345678")
    cn = subscriber(db, email="cn@example.org", phone="+8613812345678")
    incident = svc.open_incident(db, ctx, kind="disclosure", actor=STAFF, subject_ids=[eu, cn])
    authority = {
        row.jurisdiction: row
        for row in reports.obligations(db, incident.id)
        if row.party == "authority"
    }
    assert sorted(authority) == ["CN", "EU"]
    assert {row.status for row in authority.values()} == {"draft"}

    clock.advance(timedelta(hours=1))  # CN's "immediately" has run out, EU's 72 hours not
    done = reports.sweep(db, ctx)
    assert done["overdue"] == 1
    flush_events(db)
    alert = db.execute(
        sa.text(
            "SELECT outcome, details FROM audit_events WHERE action = 'incident.obligation_overdue'"
        )
    ).one()
    assert alert.outcome == "alert"
    assert alert.details["obligation"] == str(authority["CN"].id)
    assert reports.sweep(db, ctx)["overdue"] == 0  # raised once

    filed = reports.file_report(db, ctx, authority["EU"].id, actor=STAFF, reference="EDPB/2026-17")
    assert (filed.status, filed.filed_at, filed.reference) == ("filed", clock.now(), "EDPB/2026-17")
    assert reports.acknowledge(db, ctx, filed.id, actor=STAFF).status == "acknowledged"
    with pytest.raises(ConflictError):
        reports.file_report(db, ctx, filed.id, actor=STAFF)
    with pytest.raises(InvalidInputError):
        reports.file_report(db, ctx, authority["CN"].id, actor=STAFF, reference="no spaces please")
    assert "incident.report_filed" in log_of(db, incident.id)


def test_a_reminder_comes_before_the_clock_runs_out(
    db: Session, ctx: IncidentContext, clock: FakeClock
) -> None:
    svc.open_incident(db, ctx, kind="loss", actor=STAFF, jurisdictions=["EU"])
    assert reports.sweep(db, ctx)["reminded"] == 0  # 72 hours away, reminded 24 before
    clock.advance(timedelta(hours=49))
    assert reports.sweep(db, ctx)["reminded"] == 2  # the authority's and the subjects'
    assert reports.sweep(db, ctx)["reminded"] == 0


def test_the_report_export_holds_counts_and_the_measures_never_personal_data(
    db: Session, ctx: IncidentContext
) -> None:
    users = [
        subscriber(db, email=f"x{n}@example.org", phone=f"+4915100000{n:03d}") for n in range(4)
    ]
    incident = svc.open_incident(
        db, ctx, kind="loss", actor=STAFF, subject_ids=users, elements=["accounts.phone"]
    )
    set_notice(db, ctx, incident.id, FIVE_PARTS, actor=STAFF)
    (eu,) = [
        row
        for row in reports.obligations(db, incident.id)
        if row.party == "authority" and row.jurisdiction == "EU"
    ]
    report = reports.regulator_report(db, ctx, default_pack(), eu.id, actor=STAFF)
    assert report["subjects"]["affected"] >= 4
    assert report["notice"]["measures"] == FIVE_PARTS["measures"]
    assert report["controller"]["name"] == "ZTE Corporation"
    text = reports.report_markdown(report) + str(report)
    for n in range(4):
        assert f"x{n}@example.org" not in text and f"+4915100000{n:03d}" not in text
    assert "incident.report_exported" in log_of(db, incident.id)
