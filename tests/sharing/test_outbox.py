"""The outbox's processors get a message only through the sharing gate (SMTP on loopback)."""

from __future__ import annotations

from datetime import date
from types import MappingProxyType

import pytest
import sqlalchemy as sa

from doorstep.core.runtime import Runtime
from doorstep.notify.adapters import Adapters, RecordingPush, RecordingSms, from_settings
from doorstep.notify.delivery import Outcome, deliver
from doorstep.notify.services import queue_email
from doorstep.privacy.datamap.pack import default_pack
from doorstep.privacy.datamap.pack_recipients import (
    Agreement,
    AgreementType,
    RecipientPolicy,
    Role,
    Share,
)
from doorstep.privacy.sharing.gate import SharingGate
from doorstep.privacy.sharing.models import Disclosure, Ground
from doorstep.privacy.sharing.outbox import WITHHELD, outbox_release
from doorstep.schema import metadata
from doorstep.wiring import pack_sender
from tests.notify.conftest import SmtpServer, canary_email, outbox_row, smtp_settings, with_settings
from tests.privacy.conftest import audit_rows, new_subject
from tests.sharing.conftest import make_pack

PURPOSE = "notification.delivery"
CANARY_DUE = "CANARY-DUE-7f3a"


def _relay(elements: frozenset[str], agreement: Agreement | None) -> RecipientPolicy:
    return RecipientPolicy(
        "smtp_relay",
        Role.PROCESSOR,
        "CN",
        agreement,
        "email",
        MappingProxyType({PURPOSE: Share(PURPOSE, elements)}),
    )


def _adapters(runtime: Runtime, relay: RecipientPolicy) -> Adapters:
    pack = make_pack({"smtp_relay": relay})
    mailer = from_settings(runtime.settings, pack_sender(default_pack())).mailer
    return Adapters(
        mailer=mailer,
        sms=RecordingSms(),
        push=RecordingPush(),
        release=outbox_release(SharingGate.from_pack(pack, metadata)),
    )


def _queue(runtime: Runtime, reference: str) -> tuple[object, str]:
    address = canary_email()
    with runtime.sessions.begin() as session:
        subject = new_subject(session)
        outbox_id = queue_email(
            session,
            subject_id=subject,
            to=address,
            template="request.received",
            params={"reference": reference, "due": CANARY_DUE},
            clock=runtime.clock,
        )
    return subject, outbox_id


@pytest.mark.clause("CORP-3.1")
def test_a_parameter_outside_the_relays_minimal_set_never_reaches_the_relay(
    runtime: Runtime, smtp: SmtpServer
) -> None:
    runtime = with_settings(runtime, **smtp_settings(smtp))
    relay = _relay(
        frozenset({"outbox.email", "outbox.params.reference"}),
        Agreement(AgreementType.DATA_PROCESSING, "DPA-T", date(2020, 1, 1)),
    )
    subject, outbox_id = _queue(runtime, "REF-4711")
    assert deliver(runtime, outbox_id, _adapters(runtime, relay)) is Outcome.SENT  # type: ignore[arg-type]

    (mail,) = smtp.received
    raw = mail.message.as_string()
    assert "REF-4711" in mail.text
    assert CANARY_DUE not in raw
    assert WITHHELD in mail.text
    with runtime.sessions() as session:
        (row,) = session.scalars(sa.select(Disclosure).where(Disclosure.subject_id == subject))
        assert (row.recipient, row.ground, row.elements) == (
            "smtp_relay",
            Ground.PROCESSOR_CONTRACT,
            ["outbox.email", "outbox.params"],
        )


@pytest.mark.clause("CPE-III.1.c")
def test_a_relay_whose_agreement_expired_receives_nothing(
    runtime: Runtime, smtp: SmtpServer
) -> None:
    runtime = with_settings(runtime, **smtp_settings(smtp))
    expired = Agreement(AgreementType.DATA_PROCESSING, "DPA-T", date(2020, 1, 1), date(2021, 1, 1))
    relay = _relay(frozenset({"outbox.email", "outbox.params"}), expired)
    subject, outbox_id = _queue(runtime, "REF-4712")
    assert deliver(runtime, outbox_id, _adapters(runtime, relay)) is Outcome.FAILED  # type: ignore[arg-type]

    assert smtp.received == []
    row = outbox_row(runtime, outbox_id)
    assert (row.status, row.last_error) == ("failed", "sharing_refused")
    with runtime.sessions() as session:
        (refused,) = audit_rows(session, action="sharing.flow", outcome="refused")
        assert refused.details == {"recipient": "smtp_relay", "reason": "agreement_not_active"}
        assert refused.subject_id == subject


def test_the_reference_pack_registers_the_notification_providers_as_processors() -> None:
    gate = SharingGate.from_pack(default_pack(), metadata)
    assert {channel: gate.carrier(channel) for channel in ("email", "sms", "push")} == {
        "email": "smtp_relay",
        "sms": "sms_provider",
        "push": "push_provider",
    }
    for key in ("smtp_relay", "sms_provider", "push_provider"):
        policy = default_pack().sharing[key]
        assert policy.role is Role.PROCESSOR
        assert policy.agreement is not None
        assert policy.agreement.type is AgreementType.DATA_PROCESSING
    assert default_pack().sharing["authorities"].role is Role.AUTHORITY
