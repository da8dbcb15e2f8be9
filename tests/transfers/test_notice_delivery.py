"""The production transfer gate: its notice reaches the subscriber's mailbox in its language."""

from __future__ import annotations

import uuid
from datetime import date

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from doorstep.audit.services import flush_events
from doorstep.core.clock import FakeClock
from doorstep.core.runtime import Runtime
from doorstep.privacy.transfers.gate import Flow, TransferRefusedError
from doorstep.privacy.transfers.mechanisms import add_mechanism
from doorstep.privacy.transfers.models import MechanismKind, Transfer
from doorstep.privacy.transfers.notices import recipient_name
from doorstep.wiring import build_services
from tests.notify.conftest import SmtpServer, drain, smtp_settings, with_settings
from tests.transfers.conftest import ACTOR, add_subject

RECIPIENT = "push_provider"
MAC = "00:11:22:33:44:55"


@pytest.fixture
def smtp() -> object:
    """A plain SMTP server on loopback, running (the operator's mail relay)."""
    server = SmtpServer().start()
    yield server
    server.stop()


def _account(session: Session, clock: FakeClock, email: str, language: str) -> uuid.UUID:
    subject = add_subject(session, clock)
    session.execute(
        sa.text(
            "INSERT INTO accounts (id, status, email, password_hash, created_at, language, "
            "source) VALUES (:id, 'active', :email, 'x', :at, :language, 'app_signup')"
        ),
        {"id": subject, "email": email, "at": clock.now(), "language": language},
    )
    return subject


def _flow(subject: uuid.UUID | None) -> Flow:
    return Flow(
        "device.registration", RECIPIENT, "US", ("device_registrations.mac_address",), subject
    )


@pytest.mark.clause("CORP-7.3")
def test_a_transfer_for_an_account_mails_the_notice_over_smtp_in_the_subscribers_language(
    committed: Runtime, smtp: SmtpServer
) -> None:
    runtime = with_settings(committed, **smtp_settings(smtp))
    clock = runtime.clock
    assert isinstance(clock, FakeClock)
    services = build_services(runtime)
    with runtime.sessions.begin() as session:
        german = _account(session, clock, "anna@example.org", "de")
        english = _account(session, clock, "ann@example.org", "en")
        add_mechanism(
            session,
            kind=MechanismKind.STANDARD_CONTRACT,
            country="US",
            reference="SCC-2021/914-module-2",
            signed_on=date(clock.now().year - 1, 1, 1),
            clock=clock,
            actor=ACTOR,
        )
        passed = [
            services.transfers.transfer(
                session, _flow(subject), clock=clock, actor=ACTOR, payload={"mac": MAC}
            )
            for subject in (german, english)
        ]
    # Without the subscriber's consent the payload leaves de-identified (keyed pseudonyms).
    assert all(item.deidentified and item.payload is not None for item in passed)
    assert all(MAC not in str(item.payload) for item in passed)
    drain(runtime)

    mails = {mail.rcpt_tos[0]: mail for mail in smtp.received}
    assert set(mails) == {"anna@example.org", "ann@example.org"}
    recipient = recipient_name(services.pack, RECIPIENT)
    assert "Vereinigte Staaten" in mails["anna@example.org"].text
    assert "United States" in mails["ann@example.org"].text
    assert "a data transfer contract signed with the recipient" in mails["ann@example.org"].text
    for mail in mails.values():
        assert recipient in mail.text and "device_registrations.mac_address" in mail.text
        assert MAC not in mail.text
    with runtime.sessions.begin() as session:
        notices = session.scalars(sa.select(Transfer.notice_id)).all()
        reads = session.scalar(
            sa.text(
                "SELECT count(*) FROM audit_events WHERE element = 'accounts.email' "
                "AND purpose = 'privacy.rights' AND actor = 'system:transfers'"
            )
        )
    assert len(notices) == 2 and all(notices)
    assert reads == 2  # the address was read through the purpose gate, audited


def test_a_subject_the_production_gate_cannot_tell_is_not_transferred(
    db: Session, runtime: Runtime, clock: FakeClock
) -> None:
    services = build_services(runtime)
    without_account = add_subject(db, clock)
    add_mechanism(
        db,
        kind=MechanismKind.ADEQUACY,
        country="US",
        reference="adequacy decision",
        clock=clock,
        actor=ACTOR,
    )
    with pytest.raises(TransferRefusedError) as refused:
        services.transfers.transfer(
            db, _flow(without_account), clock=clock, actor=ACTOR, payload={"note": "ok"}
        )
    assert refused.value.fields["missing"] == "notice_undeliverable"
    flush_events(db)
    assert db.scalar(sa.select(sa.func.count()).select_from(Transfer)) == 0
    assert db.scalar(sa.text("SELECT count(*) FROM outbox")) == 0
