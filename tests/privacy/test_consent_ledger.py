"""The consent ledger: append-only events, the current-state view, withdrawal by channel."""

from __future__ import annotations

import hashlib
import uuid
from datetime import timedelta

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from doorstep.core.clock import FakeClock
from doorstep.core.errors import ConflictError, InvalidInputError, NotFoundError
from doorstep.privacy.consent import (
    Channel,
    ConsentAction,
    current_state,
    grant,
    history,
    refuse,
    withdraw,
)
from doorstep.privacy.subjects.models import Subject
from tests.packs import reference_terms
from tests.privacy.conftest import CAMERA_NOTICE, NOTICE, audit_rows, new_subject

WIFI = "wifi.location_scan"
QR = "device.qr_camera"

#: The reference pack's consent terms, handed down as a caller hands down the pack in force.
TERMS = reference_terms()


@pytest.mark.clause("CORP-0.3")
@pytest.mark.clause("CPE-0.2")
def test_a_grant_records_policy_version_channel_time_and_the_notice_shown(
    db: Session, clock: FakeClock
) -> None:
    subject = new_subject(db)
    record = grant(
        db,
        subject_id=subject,
        purpose=WIFI,
        channel=Channel.APP,
        notice_text=NOTICE,
        clock=clock,
        terms=TERMS,
    )
    assert record.action is ConsentAction.GRANT
    assert record.channel is Channel.APP
    assert record.policy_version == "1.1"  # the pack's current version
    assert record.occurred_at == clock.now()
    assert record.notice_hash == hashlib.sha256(NOTICE.encode()).hexdigest()
    stored = db.execute(
        sa.text(
            "SELECT purpose, action::text, channel::text, policy_version, notice_hash, occurred_at "
            "FROM consent_events WHERE id = :id"
        ),
        {"id": record.id},
    ).one()
    assert tuple(stored) == (WIFI, "grant", "app", "1.1", record.notice_hash, clock.now())


@pytest.mark.clause("CORP-0.3")
def test_a_notice_of_a_later_version_is_told_apart(db: Session, clock: FakeClock) -> None:
    subject = new_subject(db)
    first = grant(
        db,
        subject_id=subject,
        purpose=QR,
        channel="web",
        notice_text="v1",
        clock=clock,
        terms=TERMS,
    )
    second = grant(
        db,
        subject_id=subject,
        purpose=QR,
        channel="web",
        notice_text="v2",
        policy_version="1.2",
        clock=clock,
        terms=TERMS,
    )
    assert first.notice_hash != second.notice_hash
    assert [event.policy_version for event in history(db, subject, QR)] == ["1.1", "1.2"]


@pytest.mark.clause("CPE-V.4.e")
@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE consent_events SET action = 'grant' WHERE subject_id = :subject",
        "UPDATE consent_events SET occurred_at = occurred_at - interval '1 day'",
        "DELETE FROM consent_events WHERE subject_id = :subject",
        "TRUNCATE consent_events",
    ],
)
def test_the_database_refuses_to_change_the_ledger(
    db: Session, clock: FakeClock, statement: str
) -> None:
    subject = new_subject(db)
    grant(
        db,
        subject_id=subject,
        purpose=WIFI,
        channel="app",
        notice_text=NOTICE,
        clock=clock,
        terms=TERMS,
    )
    withdraw(db, subject_id=subject, purpose=WIFI, channel="app", clock=clock, terms=TERMS)
    savepoint = db.begin_nested()
    with pytest.raises(sa.exc.DBAPIError, match="append-only"):
        db.execute(sa.text(statement), {"subject": subject})
    savepoint.rollback()
    actions = [event.action for event in history(db, subject)]
    assert actions == [ConsentAction.GRANT, ConsentAction.WITHDRAW]


def test_erasing_the_subject_is_the_one_way_ledger_rows_leave(
    db: Session, clock: FakeClock
) -> None:
    subject = new_subject(db)
    grant(
        db,
        subject_id=subject,
        purpose=WIFI,
        channel="app",
        notice_text=NOTICE,
        clock=clock,
        terms=TERMS,
    )
    db.execute(sa.delete(Subject).where(Subject.id == subject))
    left = db.execute(
        sa.text("SELECT count(*) FROM consent_events WHERE subject_id = :s"), {"s": subject}
    ).scalar_one()
    assert left == 0


def test_the_current_state_is_the_latest_event_per_purpose(db: Session, clock: FakeClock) -> None:
    subject, other = new_subject(db), new_subject(db)
    grant(
        db,
        subject_id=subject,
        purpose=WIFI,
        channel="app",
        notice_text=NOTICE,
        clock=clock,
        terms=TERMS,
    )
    withdraw(
        db, subject_id=subject, purpose=WIFI, channel="app", clock=clock, terms=TERMS
    )  # same instant
    clock.advance(timedelta(minutes=5))
    last = grant(
        db,
        subject_id=subject,
        purpose=WIFI,
        channel="web",
        notice_text=NOTICE,
        clock=clock,
        terms=TERMS,
    )
    refuse(
        db,
        subject_id=subject,
        purpose=QR,
        channel="app",
        notice_text=CAMERA_NOTICE,
        clock=clock,
        terms=TERMS,
    )
    grant(
        db,
        subject_id=other,
        purpose=QR,
        channel="app",
        notice_text=CAMERA_NOTICE,
        clock=clock,
        terms=TERMS,
    )

    state = current_state(db, subject)
    assert set(state) == {WIFI, QR}
    assert state[WIFI] == last
    assert state[QR].action is ConsentAction.REFUSE
    assert len(history(db, subject)) == 4  # nothing was overwritten
    view = db.execute(
        sa.text("SELECT action FROM consent_state WHERE subject_id = :s AND purpose = :p"),
        {"s": subject, "p": WIFI},
    ).scalar_one()
    assert view == "grant"


@pytest.mark.clause("CPE-I.iii.W")
@pytest.mark.parametrize("channel", list(Channel))
def test_withdrawal_is_accepted_on_the_channel_the_consent_came_from(
    db: Session, clock: FakeClock, channel: Channel
) -> None:
    subject = new_subject(db)
    grant(
        db,
        subject_id=subject,
        purpose=WIFI,
        channel=channel,
        notice_text=NOTICE,
        clock=clock,
        terms=TERMS,
    )
    clock.advance(timedelta(seconds=1))
    withdrawn = withdraw(
        db, subject_id=subject, purpose=WIFI, channel=channel, clock=clock, terms=TERMS
    )
    assert withdrawn.channel is channel
    assert withdrawn.occurred_at == clock.now()
    assert current_state(db, subject)[WIFI].action is ConsentAction.WITHDRAW


@pytest.mark.clause("CPE-I.iii.W")
def test_withdrawal_is_never_harder_than_the_grant(db: Session, clock: FakeClock) -> None:
    """Given in the app, withdrawn by e-mail: accepted, and the channel is recorded."""
    subject = new_subject(db)
    grant(
        db,
        subject_id=subject,
        purpose=WIFI,
        channel="app",
        notice_text=NOTICE,
        clock=clock,
        terms=TERMS,
    )
    withdrawn = withdraw(
        db, subject_id=subject, purpose=WIFI, channel="email", clock=clock, terms=TERMS
    )
    assert withdrawn.channel is Channel.EMAIL


def test_there_is_nothing_to_withdraw_without_a_live_consent(db: Session, clock: FakeClock) -> None:
    subject = new_subject(db)
    with pytest.raises(ConflictError) as caught:
        withdraw(db, subject_id=subject, purpose=WIFI, channel="app", clock=clock, terms=TERMS)
    assert caught.value.fields["reason"] == "not_granted"
    refuse(
        db,
        subject_id=subject,
        purpose=WIFI,
        channel="app",
        notice_text=NOTICE,
        clock=clock,
        terms=TERMS,
    )
    with pytest.raises(ConflictError):
        withdraw(db, subject_id=subject, purpose=WIFI, channel="app", clock=clock, terms=TERMS)


def test_only_consent_based_purposes_take_decisions(db: Session, clock: FakeClock) -> None:
    subject = new_subject(db)
    for purpose in ("account.management", "marketing.everything"):
        with pytest.raises(InvalidInputError) as caught:
            grant(
                db,
                subject_id=subject,
                purpose=purpose,
                channel="app",
                notice_text="x",
                clock=clock,
                terms=TERMS,
            )
        assert caught.value.fields["errors"] == [
            {"field": "purpose", "rule": "consent_based_purpose"}
        ]


def test_bad_channel_and_unknown_subject_are_refused(db: Session, clock: FakeClock) -> None:
    subject = new_subject(db)
    with pytest.raises(InvalidInputError):
        grant(
            db,
            subject_id=subject,
            purpose=WIFI,
            channel="pigeon",
            notice_text="x",
            clock=clock,
            terms=TERMS,
        )
    with pytest.raises(NotFoundError):
        grant(
            db,
            subject_id=uuid.uuid4(),
            purpose=WIFI,
            channel="app",
            notice_text="x",
            clock=clock,
            terms=TERMS,
        )


def test_every_decision_is_audited_with_ids_only(db: Session, clock: FakeClock) -> None:
    subject = new_subject(db)
    given = grant(
        db,
        subject_id=subject,
        purpose=WIFI,
        channel="app",
        notice_text=NOTICE,
        clock=clock,
        terms=TERMS,
    )
    withdrawn = withdraw(
        db, subject_id=subject, purpose=WIFI, channel="app", clock=clock, terms=TERMS
    )
    rows = audit_rows(db, subject_id=subject)
    assert [(row.action, row.actor, row.purpose) for row in rows] == [
        ("consent.granted", f"subject:{subject}", "consent.management"),
        ("consent.withdrawn", f"subject:{subject}", "consent.management"),
    ]
    assert rows[0].details == {
        "consent_purpose": WIFI,
        "consent_event": str(given.id),
        "channel": "app",
    }
    assert rows[1].details["consent_event"] == str(withdrawn.id)
    assert all(NOTICE not in str(row) for row in rows)
