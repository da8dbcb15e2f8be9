"""Placing and releasing holds: checked input, known subjects, audited; refusals change nothing."""

from __future__ import annotations

import uuid

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from doorstep.core.clock import FakeClock
from doorstep.core.errors import ConflictError, InvalidInputError, NotFoundError
from doorstep.privacy.holds import services as holds
from doorstep.privacy.holds.elements import Held, check_element, held_rows
from doorstep.schema import metadata
from tests.holds.conftest import OFFICER, hold
from tests.requests.conftest import actions, new_subject


def _count(db: Session) -> int:
    return int(db.scalar(sa.text("SELECT count(*) FROM legal_holds")) or 0)


@pytest.mark.parametrize(
    ("field", "values", "rule"),
    [
        ("element", {"element": "no_such_table"}, "holdable_element"),
        ("element", {"element": "accounts.no_such_column"}, "holdable_element"),
        ("element", {"element": "subjects.kind"}, "holdable_element"),  # not personal
        ("element", {"element": "audit_events"}, "holdable_element"),
        ("element", {"element": "account_rate_limits"}, "holdable_element"),  # unlinkable
        ("basis", {"basis": "BECAUSE"}, "hold_basis"),
        ("authority", {"authority": ""}, "authority"),
        ("authority", {"authority": "mail me at x@example.org"}, "authority"),
        ("reference", {"reference": "case 12 of Anna Schmidt"}, "hold_reference"),
        ("reference", {"reference": "02:42:ac:11:00:02"}, "hold_reference"),
    ],
)
def test_bad_input_is_refused_naming_the_field_and_nothing_changes(
    db: Session, field: str, values: dict[str, str], rule: str
) -> None:
    given = {
        "subject_id": new_subject(db),
        "element": None,
        "basis": "LITIGATION",
        "authority": "Landgericht Berlin",
        "reference": "2-O-123-26",
        **values,
    }
    before = _count(db)
    with pytest.raises(InvalidInputError) as refused:
        holds.check(metadata, **given)  # type: ignore[arg-type]
    assert refused.value.fields["errors"] == [{"field": field, "rule": rule}]
    assert "example.org" not in refused.value.detail and "Schmidt" not in refused.value.detail
    assert _count(db) == before


def test_elements_are_tables_or_personal_columns_of_the_data_map() -> None:
    assert check_element(metadata, None) is None
    assert check_element(metadata, " ") is None
    assert check_element(metadata, "device_pppoe") == "device_pppoe"
    assert check_element(metadata, "accounts.email") == "accounts.email"
    held = Held(frozenset({"accounts.email", "device_pppoe"}))
    assert held.table("device_pppoe") and not held.table("accounts")
    assert held.columns("accounts") == {"email"} and held.touches("accounts")
    assert not Held() and Held(frozenset({None})).everything
    assert held_rows(metadata.tables["audit_events"], ["subject_id"]) is None


def test_an_unknown_subject_is_not_found_and_the_same_hold_twice_conflicts(
    db: Session, clock: FakeClock
) -> None:
    with pytest.raises(NotFoundError):
        hold(db, clock, uuid.uuid4())
    assert _count(db) == 0
    subject = new_subject(db)
    hold(db, clock, subject, "accounts.email")
    with pytest.raises(ConflictError) as twice:
        hold(db, clock, subject, "accounts.email")
    assert twice.value.fields["reason"] == "already_held"
    hold(db, clock, subject, "accounts.email", basis="LITIGATION")  # another ground may stand
    assert _count(db) == 2


def test_place_and_release_are_audited_and_a_release_happens_once(
    db: Session, clock: FakeClock
) -> None:
    subject = new_subject(db)
    placed = hold(db, clock, subject, "device_pppoe")
    assert holds.held(db, subject) == Held(frozenset({"device_pppoe"}))
    released = holds.release(db, clock, placed.id, actor=OFFICER)
    assert released.released_at == clock.now() and released.released_by == OFFICER
    assert not holds.held(db, subject)
    with pytest.raises(ConflictError) as again:
        holds.release(db, clock, placed.id, actor=OFFICER)
    assert again.value.fields["reason"] == "already_released"
    with pytest.raises(NotFoundError):
        holds.release(db, clock, uuid.uuid4(), actor=OFFICER)
    assert actions(db, subject) == ["hold.placed", "hold.released"]
    details = db.execute(
        sa.text(
            "SELECT actor, element, details FROM audit_events "
            "WHERE subject_id = :s AND action = 'hold.placed'"
        ),
        {"s": subject},
    ).one()
    assert details.actor == OFFICER and details.element == "device_pppoe"
    assert details.details == {
        "hold": str(placed.id),
        "basis": "TAX_RETENTION",
        "reference": "TAX-2026-0042",
    }


def test_a_deferred_job_is_queued_once_when_a_hold_is_released(
    db: Session, clock: FakeClock
) -> None:
    subject = new_subject(db)
    placed = hold(db, clock, subject)
    request = str(uuid.uuid4())
    assert holds.defer(db, clock, subject, "requests.erase", actor=OFFICER, request_id=request)
    assert not holds.defer(db, clock, subject, "requests.erase", actor=OFFICER, request_id=request)
    holds.release(db, clock, placed.id, actor=OFFICER)
    jobs = db.execute(
        sa.text("SELECT task_name, args FROM procrastinate_jobs WHERE queueing_lock = :lock"),
        {"lock": f"requests.erase:{request}"},
    ).all()
    assert [(job.task_name, job.args) for job in jobs] == [
        ("requests.erase", {"request_id": request})
    ]
    assert actions(db, subject) == ["hold.placed", "hold.deferred", "hold.released", "hold.resumed"]
