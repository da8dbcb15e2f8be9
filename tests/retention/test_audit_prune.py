"""The audit trail's own period: pruned up to a checkpoint, verifiable after every batch."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from doorstep.audit.services import checkpoint, prune, record, seal, verify
from doorstep.core.clock import FakeClock
from doorstep.core.runtime import Runtime
from doorstep.privacy.retention.sweep import FAILED, run_sweeps
from doorstep.privacy.retention.targets import Target
from tests.audit.conftest import Tamper, count, record_many
from tests.retention.conftest import hours, schema_targets

T = datetime(2026, 2, 1, tzinfo=UTC)
SIX_YEARS = timedelta(days=6 * 365)


def _trail(db: Session, clock: FakeClock, *, first: int, second: int) -> tuple[int, int]:
    """``first`` events checkpointed at T, then ``second`` more checkpointed a day later."""
    clock.set(T - hours(1))
    record_many(db, first)
    db.commit()
    seal(db)
    clock.set(T)
    one = checkpoint(db, at=clock.now())
    db.commit()
    clock.set(T + timedelta(days=1) - hours(1))
    record_many(db, second)
    db.commit()
    seal(db)
    clock.set(T + timedelta(days=1))
    two = checkpoint(db, at=clock.now())
    db.commit()
    assert one is not None and two is not None
    return one, two


def _audit(runtime: Runtime) -> list[Target]:
    return schema_targets(runtime, "audit_trail")


def _verified(db: Session, clock: FakeClock) -> tuple[bool, int, str]:
    seal(db)  # the sweep's own events
    db.commit()
    report = verify(db, now=clock.now())
    return report.ok, report.start_seq, report.reason


@pytest.mark.clause("CPE-IV.1.a")
def test_the_trail_is_pruned_to_the_checkpoint_before_its_cutoff_and_still_verifies(
    db: Session, runtime: Runtime, clock: FakeClock
) -> None:
    one, two = _trail(db, clock, first=5, second=4)
    clock.set(T + SIX_YEARS - hours(1))
    run_sweeps(runtime, _audit(runtime), batch_size=100)
    assert count(db, "audit_chain") >= 9  # nothing older than six years yet
    assert _verified(db, clock)[:2] == (True, 1)

    clock.set(T + SIX_YEARS + hours(1))
    (result,) = run_sweeps(runtime, _audit(runtime), batch_size=100)
    assert (result.rows, result.error) == (one, "")
    assert db.execute(sa.text("SELECT min(seq) FROM audit_chain")).scalar() == one + 1
    ok, start, reason = _verified(db, clock)
    assert (ok, start, reason) == (True, one + 1, "ok")
    assert verify(db, from_checkpoint=True, now=clock.now()).ok
    assert two > one


@pytest.mark.clause("CPE-IV.1.a")
def test_every_batch_leaves_a_chain_that_verifies(
    db: Session, runtime: Runtime, clock: FakeClock
) -> None:
    one, _ = _trail(db, clock, first=23, second=2)
    clock.set(T + SIX_YEARS + hours(1))
    states: list[tuple[bool, int, str]] = []
    (target,) = _audit(runtime)
    run_sweeps(
        runtime, [target], batch_size=5, on_batch=lambda *_: states.append(_verified(db, clock))
    )
    assert [start for _, start, _ in states] == [6, 11, 16, 21, 24]
    assert all(ok for ok, _, _ in states), states
    swept = db.execute(
        sa.text(
            "SELECT sum((details->>'rows')::int) FROM audit_events WHERE action = 'retention.swept'"
        )
    ).scalar()
    assert swept == one == 23


def test_a_broken_chain_is_not_pruned(
    db: Session, runtime: Runtime, clock: FakeClock, tamper: Tamper
) -> None:
    _trail(db, clock, first=6, second=1)
    tamper(
        "UPDATE audit_events SET outcome = 'refused' WHERE id = "
        "(SELECT event_id FROM audit_chain WHERE seq = 3)"
    )
    clock.set(T + SIX_YEARS + hours(1))
    (result,) = run_sweeps(runtime, _audit(runtime), batch_size=100)
    assert result.rows == 0
    assert "does not match" in result.error
    assert count(db, "audit_chain") >= 7
    failed = db.execute(
        sa.text("SELECT outcome, details->>'seq' FROM audit_events WHERE action = :a"),
        {"a": FAILED},
    ).one()
    assert failed == ("failed", "3")


def test_zero_keeps_the_trail(db: Session, runtime: Runtime, clock: FakeClock) -> None:
    settings = runtime.settings.model_copy(update={"audit_retention_days": 0})
    runtime = Runtime(settings, runtime.database_url, runtime.engine, runtime.sessions, clock)
    _trail(db, clock, first=3, second=1)
    clock.set(T + 10 * SIX_YEARS)
    (target,) = _audit(runtime)
    assert not target.sweeps and target.period is None
    assert run_sweeps(runtime, [target]) == []
    assert count(db, "audit_chain") == 4


def test_a_shorter_audit_period_is_a_setting(
    db: Session, runtime: Runtime, clock: FakeClock
) -> None:
    settings = runtime.settings.model_copy(update={"audit_retention_days": 30})
    runtime = Runtime(settings, runtime.database_url, runtime.engine, runtime.sessions, clock)
    one, _ = _trail(db, clock, first=3, second=1)
    clock.set(T + timedelta(days=30) + hours(1))
    (result,) = run_sweeps(runtime, _audit(runtime))
    assert result.rows == one


def _refused(db: Session, statement: str) -> str:
    savepoint = db.begin_nested()
    with pytest.raises(sa.exc.DBAPIError) as caught:
        db.execute(sa.text(statement))
    savepoint.rollback()
    assert getattr(caught.value.orig, "sqlstate", None) == "42501"
    return str(caught.value.orig)


@pytest.mark.clause("CPE-IV.1.a")
def test_the_database_allows_only_the_sanctioned_prune(db: Session, clock: FakeClock) -> None:
    one, _ = _trail(db, clock, first=4, second=3)
    record(db, action="tests.pending", actor="system:tests")
    db.commit()
    allow = "SELECT set_config('doorstep.audit_prune', '{}', true); "
    assert "append-only" in _refused(db, "DELETE FROM audit_chain WHERE seq = 1")
    # beyond the checkpoint named, or naming no checkpoint at all
    assert "up to a checkpoint" in _refused(
        db, allow.format(one) + f"DELETE FROM audit_chain WHERE seq <= {one + 1}"
    )
    assert "up to a checkpoint" in _refused(
        db, allow.format(2) + "DELETE FROM audit_chain WHERE seq <= 2"
    )
    # an event waiting to be sealed, or one still linked, is never pruned
    assert "whose links were pruned" in _refused(
        db,
        allow.format(one) + "DELETE FROM audit_events WHERE id NOT IN "
        "(SELECT event_id FROM audit_chain)",
    )
    with pytest.raises(sa.exc.DBAPIError):  # linked events: the foreign key or the check
        _nested(
            db,
            allow.format(one) + "DELETE FROM audit_events WHERE id IN "
            f"(SELECT event_id FROM audit_chain WHERE seq <= {one})",
        )
    # checkpoints, updates and truncation stay refused whatever the setting says
    for statement in (
        "DELETE FROM audit_checkpoints",
        "UPDATE audit_events SET actor = actor",
        "TRUNCATE audit_chain CASCADE",
    ):
        assert "append-only" in _refused(db, allow.format(one) + statement)
    assert count(db, "audit_chain") == 7


def _nested(db: Session, statement: str) -> None:
    savepoint = db.begin_nested()
    try:
        db.execute(sa.text(statement))
    finally:
        savepoint.rollback()


def test_prune_returns_none_when_nothing_is_due(db: Session, clock: FakeClock) -> None:
    _trail(db, clock, first=2, second=1)
    assert prune(db, cutoff=T - hours(1), batch_size=10) is None
