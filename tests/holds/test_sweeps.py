"""Retention sweeps skip what a legal hold keeps, report it with the hold's basis, and take it
at the first run after the release."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from doorstep.audit.services import flush_events
from doorstep.core.clock import FakeClock
from doorstep.core.runtime import Runtime
from doorstep.keys.services import KeyService
from doorstep.privacy.datamap.pack import default_pack
from doorstep.privacy.holds import services as holds
from doorstep.privacy.retention.sweep import HELD, run_sweeps
from doorstep.privacy.retention.targets import targets
from doorstep.schema import metadata
from tests.holds.conftest import OFFICER, hold
from tests.requests.conftest import bound_device, new_subject


def _message(db: Session, subject: uuid.UUID, clock: FakeClock) -> uuid.UUID:
    message = uuid.uuid4()
    db.execute(
        sa.text(
            "INSERT INTO outbox (id, subject_id, channel, template, locale, email, status, "
            "created_at, sent_at, finished_at) VALUES (:id, :s, 'email', 'request.completed', "
            "'en', 'someone@example.org', 'sent', :at, :at, :at)"
        ),
        {"id": message, "s": subject, "at": clock.now()},
    )
    return message


def _left(db: Session, table: str, ids: list[uuid.UUID]) -> set[uuid.UUID]:
    query = sa.text(f"SELECT id FROM {table} WHERE id = ANY(:ids)")
    return set(db.scalars(query, {"ids": ids}))


def _sweep(runtime: Runtime, rule: str) -> tuple[int, int]:
    chosen = targets(metadata, default_pack(), runtime.settings, rule=rule)
    results = run_sweeps(runtime, chosen)
    return sum(r.rows for r in results), sum(r.held for r in results)


def _held_events(db: Session) -> list[dict[str, object]]:
    flush_events(db)
    rows = db.execute(
        sa.text("SELECT details FROM audit_events WHERE action = :a ORDER BY id"), {"a": HELD}
    )
    return [row.details for row in rows]


@pytest.mark.clause("CORP-5.4")
@pytest.mark.clause("CPE-IV.3.b")
def test_a_sweep_deletes_expired_messages_but_those_under_a_tax_hold(
    db: Session, runtime: Runtime, clock: FakeClock
) -> None:
    done, kept = new_subject(db), new_subject(db)
    gone = _message(db, done, clock)
    held = _message(db, kept, clock)
    placed = hold(db, clock, kept, "outbox", basis="TAX_RETENTION")
    db.commit()
    clock.advance(timedelta(days=31))  # past outbox_messages (P30D)
    assert (
        targets(metadata, default_pack(), runtime.settings, rule="outbox_messages")[0].count_due(
            db, clock.now()
        )
        == 1
    )
    assert _sweep(runtime, "outbox_messages") == (1, 1)
    assert _left(db, "outbox", [gone, held]) == {held}
    event = _held_events(db)[-1]
    assert event["rule"] == "outbox_messages" and event["table"] == "outbox"
    assert event["rows"] == 1 and event["holds"] == 1 and event["bases"] == "TAX_RETENTION"
    assert _sweep(runtime, "outbox_messages") == (0, 1)  # kept run after run while it stands
    holds.release(db, clock, placed.id, actor=OFFICER)
    db.commit()
    assert _sweep(runtime, "outbox_messages") == (1, 0)  # the next run takes it
    assert _left(db, "outbox", [gone, held]) == set()


@pytest.mark.clause("CPE-IV.1.b")
def test_unbinding_deletes_the_credentials_unless_a_hold_keeps_them_with_its_reason_logged(
    db: Session, runtime: Runtime, clock: FakeClock, keys: KeyService
) -> None:
    first, second = new_subject(db), new_subject(db)
    devices = [bound_device(db, keys, clock, first), bound_device(db, keys, clock, second)]
    hold(db, clock, second, "device_pppoe.password", basis="LAW_ENFORCEMENT", reference="LKA-7")
    db.execute(
        sa.text(
            "UPDATE device_bindings SET unbound_at = :at, end_reason = 'unbound' "
            "WHERE device_id = ANY(:d)"
        ),
        {"at": clock.now(), "d": devices},
    )
    db.commit()
    clock.advance(timedelta(minutes=1))  # the service completed: pppoe_credentials (P0D)
    assert _sweep(runtime, "pppoe_credentials") == (1, 1)
    left = db.execute(
        sa.text(
            "SELECT b.subject_id FROM device_pppoe p JOIN device_bindings b ON b.id = p.binding_id"
            " WHERE b.device_id = ANY(:d)"
        ),
        {"d": devices},
    ).scalars()
    assert list(left) == [second]
    assert _held_events(db)[-1]["bases"] == "LAW_ENFORCEMENT"


def test_a_hold_on_another_element_does_not_keep_the_row(
    db: Session, runtime: Runtime, clock: FakeClock
) -> None:
    subject = new_subject(db)
    message = _message(db, subject, clock)
    hold(db, clock, subject, "account_profiles")  # nothing of the outbox
    db.commit()
    clock.advance(timedelta(days=31))
    assert _sweep(runtime, "outbox_messages") == (1, 0)
    assert _left(db, "outbox", [message]) == set()
