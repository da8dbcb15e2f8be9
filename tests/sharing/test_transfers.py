"""A flow to a recipient abroad passes the transfer gate too (CORP-3.7), end to end.

The production composition (``build_services``): the reference pack's SMTP relay
is a processor in CN; a subscriber whose home is DE sends data abroad through it.
The outbox's deliveries go through the same chain when ``cross_border`` is on
(the composition root leaves it off for now, decision 0030); with it on, a real
SMTP server on loopback receives what leaves.
"""

from __future__ import annotations

import uuid
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from doorstep.audit.services import flush_events
from doorstep.core.runtime import Runtime
from doorstep.notify.adapters import Adapters, RecordingPush, RecordingSms
from doorstep.notify.delivery import Outcome, deliver
from doorstep.notify.services import queue_email
from doorstep.privacy.sharing.models import Disclosure, Ground
from doorstep.privacy.sharing.outbox import outbox_release
from doorstep.privacy.transfers.gate import TransferRefusedError
from doorstep.privacy.transfers.mechanisms import add_mechanism, set_home
from doorstep.privacy.transfers.models import MechanismKind, Transfer
from doorstep.services import Services
from doorstep.wiring import build_services
from tests.notify.conftest import SmtpServer, outbox_row, smtp_settings, with_settings
from tests.policies.conftest import new_account

ACTOR = "system:test"
RELAY = "smtp_relay"


def _production(runtime: Runtime) -> tuple[Services, Adapters]:
    services = build_services(runtime)
    adapters = Adapters(
        mailer=services.mailer,
        sms=RecordingSms(),
        push=RecordingPush(),
        release=outbox_release(services.sharing, cross_border=True),
    )
    return services, adapters


def _subscriber_abroad(runtime: Runtime) -> uuid.UUID:
    with runtime.sessions.begin() as session:
        subject = new_account(session, runtime)
        set_home(session, subject, "DE", clock=runtime.clock, actor=ACTOR)
    return subject


def _queue(runtime: Runtime, subject: uuid.UUID, reference: str) -> uuid.UUID:
    with runtime.sessions.begin() as session:
        address = session.execute(
            sa.text("SELECT email FROM accounts WHERE id = :id"), {"id": subject}
        ).scalar_one()
        return queue_email(
            session,
            subject_id=subject,
            to=address,
            template="request.received",
            params={"reference": reference, "due": "2026-02-01"},
            clock=runtime.clock,
        )


def _mechanism(runtime: Runtime, kind: MechanismKind, **extra: Any) -> uuid.UUID:
    with runtime.sessions.begin() as session:
        return add_mechanism(
            session,
            kind=kind,
            country="CN",
            reference="REF-TRANSFER-1",
            clock=runtime.clock,
            actor=ACTOR,
            **extra,
        ).id


def _rows(db: Session, model: type[Any], subject: uuid.UUID) -> list[Any]:
    return list(db.scalars(sa.select(model).where(model.subject_id == subject)))


def _audit(db: Session, action: str, outcome: str) -> list[dict[str, Any]]:
    flush_events(db)
    return [
        row.details
        for row in db.execute(
            sa.text("SELECT details FROM audit_events WHERE action = :a AND outcome = :o"),
            {"a": action, "o": outcome},
        )
    ]


def _notices(db: Session, subject: uuid.UUID) -> int:
    return db.scalar(
        sa.text(
            "SELECT count(*) FROM outbox WHERE template = 'transfer.notice' AND subject_id = :s"
        ),
        {"s": subject},
    )


@pytest.mark.clause("CORP-3.7")
def test_a_flow_abroad_is_refused_without_a_mechanism_and_registered_with_one(
    runtime: Runtime, db: Session
) -> None:
    sharing = build_services(runtime).sharing
    subject = _subscriber_abroad(runtime)
    payload = {"outbox.email": "canary.abroad@example.org", "outbox.params.code": "731904"}

    def flow() -> Any:
        with runtime.sessions.begin() as session:
            return sharing.release(
                session,
                subject_id=subject,
                recipient=RELAY,
                purpose="notification.delivery",
                payload=payload,
                clock=runtime.clock,
                actor=ACTOR,
            )

    with pytest.raises(TransferRefusedError) as refused:
        flow()
    assert refused.value.fields["missing"] == "no_mechanism"
    assert _rows(db, Transfer, subject) == []
    assert _rows(db, Disclosure, subject) == []
    assert _audit(db, "sharing.flow", "ok") == []

    contract = _mechanism(
        runtime, MechanismKind.STANDARD_CONTRACT, signed_on=runtime.clock.now().date()
    )
    released = flow()
    # Without the subject's consent the pack sends only de-identified data abroad.
    assert "canary.abroad@example.org" not in str(dict(released.payload))
    (transfer,) = _rows(db, Transfer, subject)
    assert (transfer.recipient, transfer.destination, transfer.mechanism_id) == (
        RELAY,
        "CN",
        contract,
    )
    assert transfer.deidentified
    (disclosure,) = _rows(db, Disclosure, subject)
    assert disclosure.recipient == RELAY
    assert _notices(db, subject) == 1


def test_a_message_to_a_relay_abroad_waits_for_a_mechanism_then_is_registered(
    runtime: Runtime, db: Session, smtp: SmtpServer
) -> None:
    runtime = with_settings(runtime, **smtp_settings(smtp))
    services, adapters = _production(runtime)
    assert services.sharing.transfers is not None
    subject = _subscriber_abroad(runtime)

    refused = _queue(runtime, subject, "REF-ABROAD-1")
    assert deliver(runtime, refused, adapters) is Outcome.FAILED
    assert (outbox_row(runtime, refused).last_error, smtp.received) == ("transfer_refused", [])
    assert _rows(db, Transfer, subject) == []
    assert _rows(db, Disclosure, subject) == []
    (why,) = _audit(db, "transfers.transfer", "refused")
    assert (why["recipient"], why["destination"], why["reason"]) == (RELAY, "CN", "no_mechanism")

    consent = _mechanism(runtime, MechanismKind.CONSENT, subject_id=subject)
    sent = _queue(runtime, subject, "REF-ABROAD-2")
    assert deliver(runtime, sent, adapters) is Outcome.SENT
    (mail,) = smtp.received
    assert "REF-ABROAD-2" in mail.text
    (transfer,) = _rows(db, Transfer, subject)
    assert (transfer.recipient, transfer.origin, transfer.destination) == (RELAY, "DE", "CN")
    assert (transfer.mechanism, transfer.mechanism_id) == (MechanismKind.CONSENT, consent)
    assert transfer.elements == ["outbox.email", "outbox.params"]
    (disclosure,) = _rows(db, Disclosure, subject)
    assert (disclosure.recipient, disclosure.ground) == (RELAY, Ground.PROCESSOR_CONTRACT)
    # The subject was told, once: the notice's own delivery (a transfer too) tells no more.
    assert _notices(db, subject) == 1
    notice = db.execute(
        sa.text("SELECT id FROM outbox WHERE template = 'transfer.notice' AND subject_id = :s"),
        {"s": subject},
    ).scalar_one()
    assert transfer.notice_id == notice
    assert deliver(runtime, notice, adapters) is Outcome.SENT
    assert len(smtp.received) == 2
    assert _notices(db, subject) == 1
    assert len(_rows(db, Transfer, subject)) == 2


def test_an_address_that_would_leave_de_identified_is_not_sent_and_nothing_is_registered(
    runtime: Runtime, db: Session, smtp: SmtpServer
) -> None:
    runtime = with_settings(runtime, **smtp_settings(smtp))
    _services, adapters = _production(runtime)
    subject = _subscriber_abroad(runtime)
    # A standard contract covers the transfer, but without the subject's consent the
    # reference pack sends only de-identified data abroad; an address cannot be.
    _mechanism(runtime, MechanismKind.STANDARD_CONTRACT, signed_on=runtime.clock.now().date())
    outbox_id = _queue(runtime, subject, "REF-ABROAD-3")
    assert deliver(runtime, outbox_id, adapters) is Outcome.FAILED
    assert (outbox_row(runtime, outbox_id).last_error, smtp.received) == ("sharing_refused", [])
    assert _rows(db, Transfer, subject) == []
    assert _notices(db, subject) == 0
    assert _audit(db, "transfers.transfer", "ok") == []
    (why,) = _audit(db, "sharing.flow", "refused")
    assert why == {"recipient": RELAY, "reason": "not_deidentifiable"}
