"""A flow to a recipient abroad passes the transfer gate too (CORP-3.7), end to end.

The production composition (``build_services`` and the adapters the composition
root installs): the reference pack's SMTP relay is a processor in CN; a
subscriber whose home is DE sends data abroad through it.  The outbox's
deliveries go through the same chain (decision 0035), and a real SMTP server on
loopback receives what leaves.  The end-to-end test signs up through the API:
the consent sign-up asks for, the code over SMTP, the register, the notice,
and the withdrawal that stops the next e-mail.
"""

from __future__ import annotations

import uuid
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from doorstep.audit.services import flush_events
from doorstep.core.runtime import Runtime
from doorstep.notify.adapters import Adapters, adapters_of
from doorstep.notify.delivery import Outcome, deliver
from doorstep.notify.services import queue_email
from doorstep.privacy.sharing.models import Disclosure, Ground
from doorstep.privacy.transfers.gate import TransferRefusedError
from doorstep.privacy.transfers.mechanisms import add_mechanism, set_home
from doorstep.privacy.transfers.models import MechanismKind, Transfer
from doorstep.services import Services, services_for
from doorstep.wiring import build_services
from tests.accounts.conftest import (
    PASSWORD,
    PREFIX,
    bearer,
    make_client,
    sign_in,
    sign_up,
    unique_email,
    unique_phone,
)
from tests.notify.conftest import SmtpServer, outbox_row, smtp_settings, with_settings
from tests.policies.conftest import new_account

ACTOR = "system:test"
RELAY = "smtp_relay"


def _production(runtime: Runtime) -> tuple[Services, Adapters]:
    """The process's services and the adapters the composition root installs (SMTP mailer)."""
    return services_for(runtime), adapters_of(runtime)


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


def _outbox(db: Session, template: str, email: str) -> Any:
    return db.execute(
        sa.text(
            "SELECT id, subject_id, params FROM outbox WHERE template = :t AND email = :e "
            "ORDER BY created_at DESC, ctid DESC LIMIT 1"
        ),
        {"t": template, "e": email},
    ).one()


def _sms_code(db: Session, template: str, phone: str) -> str:
    """The code of the newest queued ``template`` SMS to ``phone``."""
    params = db.execute(
        sa.text("SELECT params FROM outbox WHERE template = :t AND phone = :p"),
        {"t": template, "p": phone},
    ).scalar_one()
    return str(params["code"])


def _stored(db: Session, email: str, phone: str) -> dict[str, int]:
    counts = {
        "accounts": "SELECT count(*) FROM accounts WHERE email = :e",
        "outbox": "SELECT count(*) FROM outbox WHERE email = :e OR phone = :p",
        "mechanisms": "SELECT count(*) FROM transfer_mechanisms WHERE kind = 'consent'",
        "homes": "SELECT count(*) FROM subject_regions WHERE country = 'DE'",
    }
    return {
        name: db.scalar(sa.text(query), {"e": email, "p": phone}) for name, query in counts.items()
    }


@pytest.mark.clause("CORP-3.7")
def test_a_subscriber_abroad_agrees_at_sign_up_gets_the_code_and_withdrawing_stops_the_next(
    runtime: Runtime, db: Session, smtp: SmtpServer
) -> None:
    """Production wiring end to end: a home in DE, relays in CN, the reference pack."""
    runtime = with_settings(runtime, **smtp_settings(smtp))
    _services, adapters = _production(runtime)
    email, phone = unique_email(), unique_phone()  # a German number: home DE
    body = {"email": email, "phone": phone, "password": PASSWORD, "age": 30}
    for client in make_client(runtime):
        refused = sign_up(client, **body, transfer_consent=False)
        assert refused.status_code == 422, refused.text
        problem = refused.json()
        assert problem["type"].endswith("/transfer-consent-required")
        assert {"field": "transfer_consent", "rule": "transfer_consent_required"} in problem[
            "errors"
        ]
        assert {(d["country"], d["recipient"]) for d in problem["destinations"]} == {
            ("CN", RELAY),
            ("CN", "sms_provider"),
        }
        assert all(d["description"] for d in problem["destinations"])
        assert _stored(db, email, phone) == {
            "accounts": 0,
            "outbox": 0,
            "mechanisms": 0,
            "homes": 0,
        }

        assert sign_up(client, **body, transfer_consent=True).status_code == 202
        code = _outbox(db, "account.verify_email", email)
        subject = code.subject_id
        consents = db.execute(
            sa.text(
                "SELECT recipient, country, reference FROM transfer_mechanisms "
                "WHERE subject_id = :s AND kind = 'consent' ORDER BY recipient"
            ),
            {"s": subject},
        ).all()
        assert [tuple(row) for row in consents] == [
            ("sms_provider", "CN", "signup"),
            (RELAY, "CN", "signup"),
        ]
        assert deliver(runtime, code.id, adapters) is Outcome.SENT
        (mail,) = smtp.received
        assert code.params["code"] in mail.text and email in mail.rcpt_tos
        (transfer,) = _rows(db, Transfer, subject)
        assert (transfer.recipient, transfer.origin, transfer.destination) == (RELAY, "DE", "CN")
        assert transfer.mechanism is MechanismKind.CONSENT and not transfer.deidentified
        # The register holds ids and element names, never a value.
        assert transfer.elements == ["outbox.email", "outbox.params"]
        row = db.execute(
            sa.text("SELECT row_to_json(t)::text FROM transfers t WHERE id = :id"),
            {"id": transfer.id},
        ).scalar_one()
        assert email not in row and code.params["code"] not in row
        assert _notices(db, subject) == 1

        # The subscriber proves both identifiers, signs in and withdraws the e-mail transfer.
        sms = _sms_code(db, "account.verify_phone", phone)
        for identifier, sent in ((email, code.params["code"]), (phone, sms)):
            proved = client.post(
                f"{PREFIX}/verification", json={"identifier": identifier, "code": sent}
            )
            assert proved.status_code == 200, proved.text
        token = sign_in(client, email).json()["access_token"]
        withdrawn = client.delete(f"{PREFIX}/me/transfers/{RELAY}", headers=bearer(token))
        assert withdrawn.status_code == 200, withdrawn.text
        assert withdrawn.json()["now_stopped"] == "email"

        assert client.post(f"{PREFIX}/password-reset", json={"identifier": email}).is_success
    reset = _outbox(db, "account.password_reset", email)
    assert deliver(runtime, reset.id, adapters) is Outcome.FAILED
    assert outbox_row(runtime, reset.id).last_error == "transfer_refused"
    assert len(smtp.received) == 1, "nothing more reached the relay"
    assert len(_rows(db, Transfer, subject)) == 1
    assert _notices(db, subject) == 1
