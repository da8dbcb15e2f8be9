"""Sign-up asks for the transfer consent its codes need, before any is sent (decision 0035).

The reference pack: home CN, the e-mail and SMS relays in CN, no adequacy,
``deidentify: without_consent``.  A German number makes the home DE, so both
codes would leave DE: without ``transfer_consent`` the sign-up is refused naming
each destination and nothing is stored; with it the consents are recorded (one
per relay, audited) and the codes pass the production release check.  A
subscriber at home needs none.  The answer never tells whether an identifier is
taken.  Variants of the pack's transfer policy (``always``, ``never`` with an
operator's contract) run the same sign-up with the gate's policy replaced.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from datetime import date
from typing import Any

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from doorstep.accounts.context import AccountContext
from doorstep.accounts.signup import registration
from doorstep.accounts.transfer_consents import (
    TransferConsentRequiredError,
    TransferImpossibleError,
)
from doorstep.audit.services import flush_events
from doorstep.core.runtime import Runtime
from doorstep.notify.adapters import Adapters, RecordingMailer, RecordingSms, adapters_of
from doorstep.notify.delivery import Outcome, deliver
from doorstep.privacy.policies import answers
from doorstep.privacy.transfers.mechanisms import add_mechanism
from doorstep.privacy.transfers.models import MechanismKind
from doorstep.privacy.transfers.policy import Deidentify
from doorstep.services import services_for
from tests.accounts.conftest import (
    make_client,
    sign_up,
    unique_email,
    unique_phone,
    with_settings,
)
from tests.web.checks import untranslated
from tests.web.clients import page_client, token_of

PASSWORD = "correct horse battery staple 42"


@pytest.fixture
def client(runtime: Runtime) -> Iterator[TestClient]:
    """The app on the test's rolled-back transaction."""
    yield from make_client(runtime)


def _body(email: str, phone: str, **extra: Any) -> dict[str, Any]:
    return {"email": email, "phone": phone, "password": PASSWORD, "age": 30, **extra}


def _stored(db: Session) -> dict[str, int]:
    tables = ("subjects", "accounts", "outbox", "transfer_mechanisms", "subject_regions")
    return {name: db.scalar(sa.text(f"SELECT count(*) FROM {name}")) for name in tables}


def _consents(db: Session, email: str) -> list[tuple[str, str, str]]:
    rows = db.execute(
        sa.text(
            "SELECT m.recipient, m.country, m.reference FROM transfer_mechanisms m "
            "JOIN accounts a ON a.id = m.subject_id WHERE a.email = :e AND m.kind = 'consent' "
            "AND m.revoked_at IS NULL ORDER BY m.recipient"
        ),
        {"e": email},
    ).all()
    return [tuple(row) for row in rows]


def _code(db: Session, template: str, column: str, value: str) -> Any:
    return db.execute(
        sa.text(f"SELECT id, subject_id, params FROM outbox WHERE template = :t AND {column} = :v"),
        {"t": template, "v": value},
    ).one()


@pytest.mark.clause("CPE-VIII.2")
def test_a_subscriber_abroad_is_asked_first_and_its_codes_go_only_with_its_authorisation(
    runtime: Runtime, client: TestClient, db: Session
) -> None:
    email, phone = unique_email(), unique_phone()
    before = _stored(db)
    refused = sign_up(client, **_body(email, phone), transfer_consent=False)
    assert refused.status_code == 422
    assert refused.headers["content-type"] == "application/problem+json"
    problem = refused.json()
    assert problem["type"] == "https://doorstep.dev/problems/transfer-consent-required"
    assert {(d["channel"], d["country"], d["recipient"]) for d in problem["destinations"]} == {
        ("email", "CN", "smtp_relay"),
        ("sms", "CN", "sms_provider"),
    }
    assert "SMTP relay" in next(
        d["description"] for d in problem["destinations"] if d["recipient"] == "smtp_relay"
    )
    assert email not in refused.text and phone not in refused.text
    assert _stored(db) == before, "nothing stored, no code queued"

    assert sign_up(client, **_body(email, phone), transfer_consent=True).status_code == 202
    assert _consents(db, email) == [
        ("sms_provider", "CN", "signup"),
        ("smtp_relay", "CN", "signup"),
    ]
    sms = _code(db, "account.verify_phone", "phone", phone)
    flush_events(db)
    added = db.scalars(
        sa.text(
            "SELECT details::text FROM audit_events WHERE action = 'transfers.mechanism_added' "
            "AND subject_id = :s"
        ),
        {"s": sms.subject_id},
    ).all()
    assert len(added) == 2 and all('"consent"' in text for text in added)
    # The production release check lets the code go now that the subscriber authorised it.
    recorded = RecordingSms()
    production = adapters_of(runtime)
    adapters = Adapters(
        mailer=RecordingMailer(), sms=recorded, push=production.push, release=production.release
    )
    assert deliver(runtime, sms.id, adapters) is Outcome.SENT
    (message,) = recorded.sent
    assert sms.params["code"] in message.text
    register = db.execute(
        sa.text(
            "SELECT recipient, origin, destination, mechanism::text FROM transfers "
            "WHERE subject_id = :s"
        ),
        {"s": sms.subject_id},
    ).all()
    assert [tuple(row) for row in register] == [("sms_provider", "DE", "CN", "consent")]


def test_a_subscriber_at_home_needs_no_consent_and_none_is_recorded_even_if_given(
    client: TestClient, db: Session
) -> None:
    first, second = unique_email(), unique_email()
    answer = sign_up(client, **_body(first, unique_phone(), country="CN"), transfer_consent=False)
    assert answer.status_code == 202, answer.text
    assert _consents(db, first) == []
    assert db.scalar(sa.text("SELECT count(*) FROM accounts WHERE email = :e"), {"e": first}) == 1
    answer = sign_up(client, **_body(second, unique_phone(), country="CN"), transfer_consent=True)
    assert answer.status_code == 202
    assert _consents(db, second) == []


def test_the_answer_does_not_tell_whether_an_identifier_is_taken(
    client: TestClient, db: Session
) -> None:
    email, phone = unique_email(), unique_phone()
    assert sign_up(client, **_body(email, phone)).status_code == 202
    before = _consents(db, email)
    taken = sign_up(client, **_body(email, unique_phone()), transfer_consent=False)
    new = sign_up(client, **_body(unique_email(), unique_phone()), transfer_consent=False)
    assert (taken.status_code, new.status_code) == (422, 422)
    assert taken.json()["destinations"] == new.json()["destinations"]
    assert sign_up(client, **_body(email, unique_phone()), transfer_consent=True).status_code == 202
    assert _consents(db, email) == before, "the owner's consents are the owner's"


def _context(runtime: Runtime, deidentify: Deidentify) -> AccountContext:
    """The production context with the transfer policy's ``deidentify`` replaced."""
    ctx = AccountContext.for_runtime(runtime)
    sharing = services_for(runtime).sharing
    assert sharing.transfers is not None
    policy = dataclasses.replace(sharing.transfers.policy, deidentify=deidentify)
    transfers = dataclasses.replace(sharing.transfers, policy=policy)
    return dataclasses.replace(ctx, sharing=dataclasses.replace(sharing, transfers=transfers))


def _form(
    ctx: AccountContext, db: Session, email: str, *, consent: bool
) -> registration.SignUpForm:
    assert ctx.policy is not None
    shown = answers.version_to_acknowledge(db, ctx.policy, ctx.clock).id
    return registration.SignUpForm(
        password=PASSWORD,
        email=email,
        phone=unique_phone(),
        age=30,
        policy_version=shown,
        transfer_consent=consent,
    )


def test_a_pack_that_de_identifies_always_refuses_the_sign_up_of_a_subscriber_abroad(
    runtime: Runtime, db: Session
) -> None:
    ctx = _context(runtime, Deidentify.ALWAYS)
    before = _stored(db)
    for consent in (False, True):
        with pytest.raises(TransferImpossibleError) as refused:
            registration.sign_up(db, ctx, _form(ctx, db, unique_email(), consent=consent))
        assert refused.value.status == 403
        assert refused.value.fields["reason"] == "deidentify_always"
        assert {d["recipient"] for d in refused.value.fields["destinations"]} == {
            "smtp_relay",
            "sms_provider",
        }
    assert _stored(db) == before


def test_an_operators_contract_makes_the_consent_unneeded_only_where_addresses_may_leave(
    runtime: Runtime, db: Session
) -> None:
    add_mechanism(
        db,
        kind=MechanismKind.STANDARD_CONTRACT,
        country="CN",
        reference="SCC-RELAYS-1",
        signed_on=date(2025, 1, 1),
        clock=runtime.clock,
        actor="system:tests",
    )
    # Without consent the reference pack sends only de-identified data: still needed.
    strict = _context(runtime, Deidentify.WITHOUT_CONSENT)
    with pytest.raises(TransferConsentRequiredError):
        registration.sign_up(db, strict, _form(strict, db, unique_email(), consent=False))
    # Under `never` the contract alone carries the address: no consent asked, none recorded.
    lenient = _context(runtime, Deidentify.NEVER)
    email = unique_email()
    registration.sign_up(db, lenient, _form(lenient, db, email, consent=False))
    assert db.scalar(sa.text("SELECT count(*) FROM accounts WHERE email = :e"), {"e": email}) == 1
    assert _consents(db, email) == []


def _page_sign_up(browser: TestClient, email: str, phone: str, **extra: str) -> Any:
    return browser.post(
        "/signup",
        data={
            "csrf_token": token_of(browser, "/signup"),
            "email": email,
            "phone": phone,
            "password": PASSWORD,
            "age": "30",
            "policy_version": browser.get("/api/v1/policy").json()["id"],
            **extra,
        },
    )


def test_the_web_form_asks_with_the_destinations_words_and_goes_on_once_ticked(
    runtime: Runtime, db: Session
) -> None:
    email, phone = unique_email(), unique_phone()
    with page_client(runtime, follow_redirects=False) as browser:
        asked = _page_sign_up(browser, email, phone)
        assert asked.status_code == 422
        assert 'name="transfer_consent"' in asked.text
        assert (
            "Your e-mail and text messages are carried by the SMTP relay that carries our e-mail "
            "to your mailbox provider and the SMS provider that delivers our text messages to "
            "your phone in China. I agree to this transfer."
        ) in " ".join(asked.text.split())
        assert (
            db.scalar(sa.text("SELECT count(*) FROM accounts WHERE email = :e"), {"e": email}) == 0
        )
        browser.app.state.web_language = "x-pseudo"  # type: ignore[attr-defined]
        pseudo = _page_sign_up(browser, email, phone)
        assert untranslated(pseudo.text) == []
        del browser.app.state.web_language  # type: ignore[attr-defined]
        agreed = _page_sign_up(browser, email, phone, transfer_consent="yes")
    assert agreed.status_code == 200, agreed.text[:300]
    assert _consents(db, email) == [
        ("sms_provider", "CN", "signup"),
        ("smtp_relay", "CN", "signup"),
    ]
    assert _code(db, "account.verify_email", "email", email).params["code"]


@pytest.mark.clause("CORP-7.3")
def test_a_subscriber_abroad_known_by_mobile_number_only_is_told_by_sms_and_gets_its_code(
    runtime: Runtime, db: Session
) -> None:
    phone = unique_phone()  # a German number: home DE, the SMS provider in CN
    corp = with_settings(runtime, signup_identifiers="corp")
    for client in make_client(corp):
        answer = sign_up(client, phone=phone, password=PASSWORD, age=30, transfer_consent=True)
        assert answer.status_code == 202, answer.text
    sms = _code(db, "account.verify_phone", "phone", phone)
    recorded = RecordingSms()
    production = adapters_of(corp)
    adapters = Adapters(
        mailer=RecordingMailer(), sms=recorded, push=production.push, release=production.release
    )
    assert deliver(corp, sms.id, adapters) is Outcome.SENT
    notices = db.execute(
        sa.text("SELECT id, params FROM outbox WHERE template = :t AND subject_id = :s"),
        {"t": "transfer.notice_sms", "s": sms.subject_id},
    ).all()
    assert len(notices) == 1, "the notice goes by SMS, the only address there is"
    (notice,) = notices
    assert notice.params["recipient"] and "China" in notice.params["destination"]
    assert "outbox.phone" in notice.params["data"]
    # The notice's own delivery is a transfer too; the standing notice answers for it.
    assert deliver(corp, notice.id, adapters) is Outcome.SENT
    code_message, notice_message = recorded.sent
    assert sms.params["code"] in code_message.text
    assert sms.params["code"] not in notice_message.text
    again = db.scalar(
        sa.text("SELECT count(*) FROM outbox WHERE template = :t AND subject_id = :s"),
        {"t": "transfer.notice_sms", "s": sms.subject_id},
    )
    assert again == 1, "no notice of the notice"
