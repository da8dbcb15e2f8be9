"""The database keeps the trail append-only; verify() finds the first edit, deletion or reorder."""

from __future__ import annotations

import hashlib
import json
from datetime import timedelta

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from doorstep.audit._chain import GENESIS
from doorstep.audit.exceptions import AuditChainBrokenError
from doorstep.audit.services import checkpoint, record, seal, verify
from doorstep.core.clock import FakeClock
from doorstep.core.runtime import Runtime
from tests.audit.conftest import Tamper, count, record_many

APPEND_ONLY = ("audit_events", "audit_chain", "audit_checkpoints")


def at_link(seq: int) -> str:
    """SQL: the id of the event sealed at ``seq``."""
    return f"(SELECT event_id FROM audit_chain WHERE seq = {seq})"


def _sealed(db: Session, n: int, *, checkpoint_at: int | None = None) -> None:
    record_many(db, n)
    db.commit()
    if checkpoint_at is not None:
        assert seal(db, limit=checkpoint_at) == checkpoint_at
        assert checkpoint(db) == checkpoint_at
    seal(db)
    db.commit()


@pytest.mark.clause("CPE-IV.1.a")
@pytest.mark.parametrize("table", APPEND_ONLY)
@pytest.mark.parametrize(
    "statement",
    ["UPDATE {table} SET {column} = {column}", "DELETE FROM {table}", "TRUNCATE {table} CASCADE"],
)
def test_the_database_refuses_to_change_the_trail(db: Session, table: str, statement: str) -> None:
    _sealed(db, 3, checkpoint_at=2)
    column = {"audit_events": "actor", "audit_chain": "hash", "audit_checkpoints": "hash"}[table]
    savepoint = db.begin_nested()
    with pytest.raises(sa.exc.DBAPIError, match="append-only") as caught:
        db.execute(sa.text(statement.format(table=table, column=column)))
    savepoint.rollback()
    assert getattr(caught.value.orig, "sqlstate", None) == "42501"  # insufficient_privilege
    assert count(db, table) > 0


@pytest.mark.clause("CPE-IV.1.a")
def test_even_a_change_of_no_rows_is_refused(db: Session) -> None:
    with pytest.raises(sa.exc.DBAPIError, match="append-only"):
        db.execute(sa.text("DELETE FROM audit_events WHERE false"))


def test_an_intact_chain_verifies(db: Session) -> None:
    _sealed(db, 20)
    report = verify(db)
    assert (report.ok, report.checked, report.first_broken, report.head_seq) == (True, 20, None, 20)
    assert report.unsealed == 0
    assert count(db, "audit_pending") == 0


def test_the_hash_is_reproducible_from_the_documented_recipe(db: Session) -> None:
    """An auditor can recompute a link with nothing but sha256 and JSON."""
    _sealed(db, 1)
    row = db.execute(
        sa.text(
            "SELECT c.seq, c.prev_hash, c.hash, e.id, e.at, e.actor, e.action, e.purpose, "
            "e.element, e.subject_id, e.outcome, e.details FROM audit_chain c "
            "JOIN audit_events e ON e.id = c.event_id"
        )
    ).one()
    document = {
        "id": row.id,
        "at": row.at.isoformat(timespec="microseconds"),
        "actor": row.actor,
        "action": row.action,
        "purpose": row.purpose,
        "element": row.element,
        "subject_id": str(row.subject_id),
        "outcome": row.outcome,
        "details": row.details,
    }
    canonical = json.dumps(document, sort_keys=True, separators=(",", ":")).encode()
    assert bytes(row.prev_hash) == GENESIS
    assert hashlib.sha256(GENESIS + (1).to_bytes(8, "big") + canonical).digest() == row.hash


@pytest.mark.clause("CPE-IV.1.a")
def test_an_edited_event_is_the_first_broken_link(db: Session, tamper: Tamper) -> None:
    _sealed(db, 10)
    tamper("UPDATE audit_events SET outcome = 'refused' WHERE id = " + at_link(7))
    tamper("UPDATE audit_events SET details = '{\"index\": 99}' WHERE id = " + at_link(4))
    report = verify(db)
    assert (report.ok, report.first_broken, report.checked) == (False, 4, 3)
    assert "edited" in report.reason
    assert (
        report.event_id
        == db.execute(sa.text("SELECT event_id FROM audit_chain WHERE seq = 4")).scalar()
    )


@pytest.mark.clause("CPE-IV.1.a")
def test_a_deleted_event_is_found(db: Session, tamper: Tamper) -> None:
    _sealed(db, 10)
    tamper("DELETE FROM audit_events WHERE id = (SELECT event_id FROM audit_chain WHERE seq = 6)")
    report = verify(db)
    assert (report.ok, report.first_broken) == (False, 6)
    assert "deleted from audit_events" in report.reason


@pytest.mark.clause("CPE-IV.1.a")
def test_a_deleted_link_is_found(db: Session, tamper: Tamper) -> None:
    _sealed(db, 10)
    tamper("DELETE FROM audit_chain WHERE seq IN (5, 6)")
    report = verify(db)
    assert (report.ok, report.first_broken, report.event_id) == (False, 5, None)
    assert "links 5 to 6 are missing" in report.reason


@pytest.mark.clause("CPE-IV.1.a")
def test_a_deleted_event_and_link_together_are_found(db: Session, tamper: Tamper) -> None:
    _sealed(db, 10)
    tamper(
        "CREATE TEMP TABLE gone ON COMMIT DROP AS SELECT event_id FROM audit_chain WHERE seq = 3"
    )
    tamper("DELETE FROM audit_chain WHERE seq = 3")
    tamper("DELETE FROM audit_events WHERE id IN (SELECT event_id FROM gone)")
    report = verify(db)
    assert (report.ok, report.first_broken) == (False, 3)


@pytest.mark.clause("CPE-IV.1.a")
def test_reordered_links_are_found(db: Session, tamper: Tamper) -> None:
    _sealed(db, 10)
    tamper("UPDATE audit_chain SET seq = seq + 1000 WHERE seq IN (4, 8)")
    tamper("UPDATE audit_chain SET seq = CASE seq WHEN 1004 THEN 8 ELSE 4 END WHERE seq > 1000")
    report = verify(db)
    assert (report.ok, report.first_broken) == (False, 4)
    assert "reordered" in report.reason


@pytest.mark.clause("CPE-IV.1.a")
def test_swapped_events_are_found(db: Session, tamper: Tamper) -> None:
    """Links that point at each other's events (a reorder of the events) break at the first."""
    _sealed(db, 10)
    tamper("UPDATE audit_chain SET event_id = -event_id WHERE seq IN (2, 9)")
    tamper(
        "UPDATE audit_chain c SET event_id = o.e FROM (SELECT seq, -event_id AS e FROM audit_chain "
        "WHERE seq IN (2, 9)) o WHERE c.seq IN (2, 9) AND c.seq <> o.seq"
    )
    report = verify(db)
    assert (report.ok, report.first_broken) == (False, 2)


@pytest.mark.clause("CPE-IV.1.a")
def test_a_deleted_tail_link_is_found_through_its_event(db: Session, tamper: Tamper) -> None:
    _sealed(db, 10)
    tamper("DELETE FROM audit_chain WHERE seq = 10")
    report = verify(db)
    assert (report.ok, report.first_broken) == (False, None)
    assert report.event_id is not None
    assert "link was deleted" in report.reason


@pytest.mark.clause("CPE-IV.1.a")
def test_a_deleted_tail_is_found_through_a_checkpoint(db: Session, tamper: Tamper) -> None:
    _sealed(db, 10, checkpoint_at=8)
    tamper("DELETE FROM audit_events WHERE id IN (SELECT event_id FROM audit_chain WHERE seq >= 5)")
    tamper("DELETE FROM audit_chain WHERE seq >= 5")
    report = verify(db)
    assert (report.ok, report.first_broken, report.checked) == (False, 5, 4)
    assert "checkpoint" in report.reason


def test_an_unsealed_event_deleted_before_sealing_is_found(db: Session, tamper: Tamper) -> None:
    record_many(db, 3)
    db.commit()
    tamper("DELETE FROM audit_events WHERE id = (SELECT min(id) FROM audit_events)")
    report = verify(db)
    assert (report.ok, report.first_broken) == (False, None)
    assert "awaiting sealing was deleted" in report.reason


def test_events_left_unsealed_too_long_are_reported(db: Session, clock: FakeClock) -> None:
    record(db, action="a.b", actor="system:tests", at=clock.now())
    db.commit()
    assert verify(db, now=clock.now() + timedelta(minutes=9)).ok
    late = verify(db, now=clock.now() + timedelta(minutes=11))
    assert (late.ok, late.unsealed) == (False, 1)
    assert "not sealed" in late.reason
    seal(db)
    assert verify(db, now=clock.now() + timedelta(days=1)).ok


def test_sealing_chains_after_the_head_and_only_once(db: Session) -> None:
    _sealed(db, 5)
    assert seal(db) == 0
    _sealed(db, 5)
    assert [
        tuple(r)
        for r in db.execute(sa.text("SELECT min(seq), max(seq), count(*) FROM audit_chain"))
    ] == [(1, 10, 10)]
    assert verify(db).ok


def test_verification_starts_at_a_checkpoint(db: Session, tamper: Tamper) -> None:
    _sealed(db, 10, checkpoint_at=6)
    full = verify(db)
    since = verify(db, from_checkpoint=True)
    assert (full.ok, full.checked) == (True, 10)
    assert (since.ok, since.checked, since.start_seq) == (True, 4, 7)
    # an edit before the checkpoint is found by a full walk, not by one from the checkpoint
    tamper("UPDATE audit_events SET outcome = 'x' WHERE id = " + at_link(2))
    assert verify(db).first_broken == 2
    assert verify(db, from_checkpoint=True).ok


def test_links_pruned_before_a_checkpoint_still_verify(db: Session, tamper: Tamper) -> None:
    """What the retention sweep will do: drop the links (and events) before a checkpoint."""
    _sealed(db, 10, checkpoint_at=6)
    tamper(
        "CREATE TEMP TABLE old ON COMMIT DROP AS SELECT event_id FROM audit_chain WHERE seq <= 6"
    )
    tamper("DELETE FROM audit_chain WHERE seq <= 6")
    tamper("DELETE FROM audit_events WHERE id IN (SELECT event_id FROM old)")
    report = verify(db)
    assert (report.ok, report.start_seq, report.checked) == (True, 7, 4)
    # … but not before a seq no checkpoint vouches for
    tamper("DELETE FROM audit_chain WHERE seq = 7")
    assert verify(db).first_broken == 7


def test_a_checkpoint_refuses_to_vouch_for_a_broken_chain(db: Session, tamper: Tamper) -> None:
    _sealed(db, 5)
    tamper("UPDATE audit_events SET actor = 'system:forged' WHERE id = " + at_link(3))
    with pytest.raises(AuditChainBrokenError) as caught:
        checkpoint(db)
    assert caught.value.fields["seq"] == 3
    assert count(db, "audit_checkpoints") == 0


def test_a_checkpoint_is_taken_only_when_there_is_something_new(db: Session) -> None:
    assert checkpoint(db) is None
    _sealed(db, 3)
    assert checkpoint(db) == 3
    assert checkpoint(db) is None


def test_only_one_sealer_runs_at_a_time(committed: Runtime, engine: sa.Engine) -> None:
    """A second sealer skips (wait=False) or waits for the first (wait=True)."""
    import threading

    from doorstep.audit._seal import SEAL_LOCK_KEY

    with committed.sessions.begin() as session:
        record_many(session, 2)
    sealed: list[int] = []
    with engine.connect() as holder:
        holder.execute(sa.text("SELECT pg_advisory_xact_lock(:k)"), {"k": SEAL_LOCK_KEY})
        with committed.sessions.begin() as session:
            assert seal(session, wait=False) == 0

        def waiting() -> None:
            with committed.sessions.begin() as session:
                sealed.append(seal(session))

        thread = threading.Thread(target=waiting)
        thread.start()
        thread.join(1.0)
        assert thread.is_alive() and sealed == []
        holder.rollback()  # the first sealer finishes
        thread.join(30)
    assert sealed == [2]
