"""record(): events commit and roll back with the caller's transaction, hold ids only, batch."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.orm import Session

from doorstep.audit import _buffer
from doorstep.audit.exceptions import UnsafeAuditValueError
from doorstep.audit.services import CLOCK_KEY, flush_events, record, use_clock
from doorstep.core.clock import FakeClock
from doorstep.core.runtime import Runtime
from doorstep.privacy.subjects.models import Subject, SubjectKind
from tests.audit.conftest import count, record_many


def _events(session: Session | sa.Connection) -> list[Any]:
    return list(
        session.execute(
            sa.text(
                "SELECT at, actor, action, purpose, element, subject_id, outcome, details "
                "FROM audit_events ORDER BY id"
            )
        ).all()
    )


def test_an_event_holds_ids_and_names_only(db: Session, clock: FakeClock) -> None:
    subject, request = uuid.uuid4(), uuid.uuid4()
    record(
        db,
        action="consent.granted",
        actor=f"subject:{subject}",
        subject_id=subject,
        purpose="device.registration",
        element="subjects.id",
        details={"request_id": str(request), "attempt": 2, "manual": False, "note": None},
        at=clock.now(),
    )
    db.commit()
    [row] = _events(db)
    assert tuple(row) == (
        clock.now(),
        f"subject:{subject}",
        "consent.granted",
        "device.registration",
        "subjects.id",
        subject,
        "ok",
        {"request_id": str(request), "attempt": 2, "manual": False, "note": None},
    )


@pytest.mark.clause("CPE-IV.1.a")
def test_commit_leaves_the_change_and_its_event(committed: Runtime) -> None:
    subject = uuid.uuid4()
    with committed.sessions.begin() as session:
        session.add(Subject(id=subject, kind=SubjectKind.SUBSCRIBER))
        record(session, action="subject.created", actor="system:tests", subject_id=subject)
    with committed.engine.connect() as connection:
        assert count(connection, "subjects") == 1
        assert [row.subject_id for row in _events(connection)] == [subject]


@pytest.mark.clause("CPE-IV.1.a")
def test_rollback_leaves_neither_the_change_nor_its_event(committed: Runtime) -> None:
    with pytest.raises(RuntimeError), committed.sessions.begin() as session:
        subject = uuid.uuid4()
        session.add(Subject(id=subject, kind=SubjectKind.SUBSCRIBER))
        session.flush()
        record(session, action="subject.created", actor="system:tests", subject_id=subject)
        flush_events(session)  # even an event already written goes with the rollback
        raise RuntimeError("the change fails after both were written")
    with committed.engine.connect() as connection:
        assert count(connection, "subjects") == 0
        assert count(connection, "audit_events") == 0
        assert count(connection, "audit_pending") == 0


def test_a_closed_session_drops_its_unwritten_events(committed: Runtime) -> None:
    session = committed.sessions()
    record(session, action="subject.read", actor="system:tests")
    session.close()  # no commit: nothing may reach a later transaction of this session
    with session.begin():
        session.execute(sa.text("SELECT 1"))
    with committed.engine.connect() as connection:
        assert count(connection, "audit_events") == 0


def test_a_transaction_of_many_events_writes_them_in_one_statement(
    db: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    statements: list[str] = []
    copy_rows = _buffer.copy_rows

    def spy(session: Session, statement: str, rows: Iterable[Sequence[Any]]) -> None:
        statements.append(statement)
        copy_rows(session, statement, rows)

    monkeypatch.setattr(_buffer, "copy_rows", spy)
    record_many(db, 250)
    assert statements == []  # nothing is written before the commit …
    db.commit()
    assert len(statements) == 1  # … and then everything at once
    assert count(db, "audit_events") == 250
    assert count(db, "audit_pending") == 250


def test_a_long_transaction_writes_early_to_bound_memory(db: Session) -> None:
    record_many(db, _buffer.FLUSH_AT + 5)
    assert _buffer.pending_count(db) == 5
    assert count(db, "audit_events") == _buffer.FLUSH_AT
    db.commit()
    assert count(db, "audit_events") == _buffer.FLUSH_AT + 5


def test_events_in_a_rolled_back_savepoint_are_dropped_and_outer_ones_kept(db: Session) -> None:
    record(db, action="outer.before", actor="system:tests")
    savepoint = db.begin_nested()
    record(db, action="inner.dropped", actor="system:tests")
    flush_events(db)  # written inside the savepoint: the outer event too
    record(db, action="inner.dropped.too", actor="system:tests")
    savepoint.rollback()
    with db.begin_nested():
        record(db, action="inner.kept", actor="system:tests")
    record(db, action="outer.after", actor="system:tests")
    db.commit()
    assert [row.action for row in _events(db)] == ["outer.before", "inner.kept", "outer.after"]


def test_events_recorded_in_orm_flush_hooks_are_written(db: Session) -> None:
    def on_flush(session: Session, _context: object, _instances: object) -> None:
        for new in session.new:
            if isinstance(new, Subject):
                record(session, action="subject.created", actor="system:tests", subject_id=new.id)

    event.listen(db, "before_flush", on_flush)
    subject = uuid.uuid4()
    db.add(Subject(id=subject, kind=SubjectKind.SUBSCRIBER))
    db.commit()
    assert [row.subject_id for row in _events(db)] == [subject]


def test_events_are_dated_by_the_given_instant_then_the_session_clock_then_the_database(
    db: Session, clock: FakeClock
) -> None:
    explicit = datetime(2030, 5, 1, 12, tzinfo=UTC)
    record(db, action="a.explicit", actor="system:tests", at=explicit)
    use_clock(db, clock)
    record(db, action="a.clock", actor="system:tests")
    del db.info[CLOCK_KEY]
    record(db, action="a.database", actor="system:tests")
    db.commit()
    database_now = db.execute(sa.text("SELECT now()")).scalar_one()
    dates = [row.at for row in _events(db)]
    assert dates[:2] == [explicit, clock.now()]
    assert abs(dates[2] - database_now) < timedelta(minutes=5)


def test_uuid_details_are_stored_as_strings(db: Session) -> None:
    request = uuid.uuid4()
    record(db, action="a.b", actor="system:tests", details={"request_id": request})  # type: ignore[dict-item]
    db.commit()
    assert _events(db)[0].details == {"request_id": str(request)}


def test_naive_instants_are_refused(db: Session) -> None:
    with pytest.raises(ValueError, match="naive"):
        record(db, action="a.b", actor="system:tests", at=datetime(2026, 1, 1))


@pytest.mark.parametrize(
    ("field", "kwargs"),
    [
        ("details[contact]", {"details": {"contact": "jane.doe@example.com"}}),
        ("details[router]", {"details": {"router": "00:1A:2B:3C:4D:5E"}}),
        ("details[wan]", {"details": {"wan": "203.0.113.9"}}),
        ("details[name]", {"details": {"name": "Jane Doe"}}),
        ("details[phone]", {"details": {"phone": "+44 20 7946 0958"}}),
        ("details[score]", {"details": {"score": 0.5}}),
        ("details[nested]", {"details": {"nested": {"a": 1}}}),
        ("details key", {"details": {"e mail": 1}}),
        ("actor", {"actor": "jane.doe@example.com"}),
        ("action", {"action": "read jane's profile"}),
        ("purpose", {"purpose": ""}),
        ("element", {"element": "x" * 129}),
        ("subject_id", {"subject_id": "5f34449f-8e83-48bb-bb2d-0474c504299d"}),
        ("outcome", {"outcome": "refused: wrong password for jane@example.com"}),
    ],
)
def test_anything_but_ids_and_names_is_refused(
    db: Session, field: str, kwargs: dict[str, Any]
) -> None:
    arguments: dict[str, Any] = {"action": "datamap.read", "actor": "system:tests", **kwargs}
    with pytest.raises(UnsafeAuditValueError) as caught:
        record(db, **arguments)
    assert caught.value.field == field
    assert "example.com" not in str(caught.value)  # the message never repeats the value
    assert "5E" not in str(caught.value)
    db.commit()
    assert count(db, "audit_events") == 0


def test_too_many_details_are_refused(db: Session) -> None:
    with pytest.raises(UnsafeAuditValueError, match="details"):
        record(db, action="a.b", actor="system:tests", details={f"k{i}": i for i in range(33)})


def test_an_event_recorded_after_the_commit_began_is_reported_not_lost_silently(
    db: Session, caplog: pytest.LogCaptureFixture
) -> None:
    def late(session: Session) -> None:
        record(session, action="too.late", actor="system:tests")

    event.listen(db, "before_commit", late)  # runs after the audit trail's own listener
    with caplog.at_level("ERROR", logger="doorstep.audit"):
        db.commit()
    event.remove(db, "before_commit", late)
    assert "recorded after the commit began" in caplog.text
