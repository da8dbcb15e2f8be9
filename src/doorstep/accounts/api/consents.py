"""The app's consents under ``/api/v1/accounts/me/consents`` (decision 0032).

* ``GET /me/consents`` — every consent-based purpose of the pack in force the
  subscriber decides (camera, location, profile, and any the pack adds), with the
  notice to show in the subscriber's language (its words where the pack is written
  in it), the notice's SHA-256, the state, and the latest decision with the policy
  version it was made under;
* ``POST /me/consents/{purpose}/grant`` — ``{"notice_hash": …}`` names the notice
  shown; a hash that is not the current notice of the purpose (in one of the pack's
  languages) is a 422 naming ``notice_hash``;
* ``POST /me/consents/{purpose}/withdraw`` — withdraws a live consent (409
  ``not_granted`` otherwise); the answer names the function now off and its manual
  path.  The gate reads the ledger on every use, so the next use is refused;
* ``GET /me/consents/receipts/{event_id}`` — the Kantara Consent Receipt 1.1 and the
  ISO/IEC TS 27560 record of one of the subscriber's decisions, each signed with the
  receipt key of ``/.well-known/jwks.json``.

Grants and withdrawals need an ``Idempotency-Key`` header: a repeated key answers
with the decision already recorded (``Idempotent-Replayed: true``) and records
nothing; the same key with another request is a 422 (``idempotency-key-reused``).
An unknown purpose, a purpose that does not rest on consent, or the guardian's
consent to a child's account (the guardian gives it, from their own e-mail) is a
422 naming ``purpose``.  Every refusal leaves the ledger as it was.  Decisions are
recorded on channel ``app``; reading the ledger goes through the purpose gate
(``consent.management``), as the privacy center's page does.
"""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Header, Response
from sqlalchemy.orm import Session

from doorstep.accounts.account.lookup import require_open
from doorstep.accounts.api.consent_schemas import (
    ConsentDecisionOut,
    ConsentDecisionResult,
    ConsentFunctionOff,
    ConsentGrantRequest,
    ConsentItem,
    ConsentList,
    ConsentNoticeOut,
    ConsentPolicyOut,
    ConsentReceiptOut,
    SignedConsentDocument,
    State,
)
from doorstep.accounts.auth import CurrentSubscriber
from doorstep.accounts.children.guardians import GUARDIAN_PURPOSE
from doorstep.accounts.context import AccountContext
from doorstep.accounts.profile.service import PURPOSE as PROFILE_PURPOSE
from doorstep.accounts.profile.service import withdraw_consent as withdraw_profile
from doorstep.audit.entries import subject_actor
from doorstep.core.errors import InvalidInputError, NotFoundError
from doorstep.core.problems import problem_responses
from doorstep.privacy.consent import services as consent
from doorstep.privacy.consent.idempotency import HEADER, once
from doorstep.privacy.consent.models import Channel, ConsentAction
from doorstep.privacy.consent.notice import app_notice, notices_of
from doorstep.privacy.consent.receipts import issue_receipt, verify_receipt
from doorstep.privacy.consent.records import issue_record
from doorstep.privacy.consent.signing import signer_for
from doorstep.privacy.consent.terms import ConsentPurpose
from doorstep.services import Services, ServicesDep, SessionDep

router = APIRouter(responses=problem_responses(404, 409))
#: The ledger elements the list reads (checked by the purpose gate, as the page does).
LEDGER_ELEMENTS = (
    "consent_events.purpose",
    "consent_events.action",
    "consent_events.channel",
    "consent_events.policy_version",
    "consent_events.occurred_at",
)
LEDGER_PURPOSE = "consent.management"
JWKS_URI = "/.well-known/jwks.json"
REPLAYED = "Idempotent-Replayed"
_STATES: dict[ConsentAction, State] = {
    ConsentAction.GRANT: "granted",
    ConsentAction.REFUSE: "refused",
    ConsentAction.WITHDRAW: "withdrawn",
}
IdempotencyKey = Annotated[
    str,
    Header(
        alias=HEADER,
        min_length=1,
        max_length=255,
        pattern=r"^[\x21-\x7e]+$",
        description="A key the app chooses per decision (a UUID); a repetition records nothing.",
    ),
]


def _decision(record: consent.ConsentRecord) -> ConsentDecisionOut:
    return ConsentDecisionOut(
        event_id=record.id,
        state=_STATES[record.action],
        channel=record.channel.value,
        policy_version=record.policy_version,
        decided_at=record.occurred_at,
    )


def _purpose(services: Services, purpose: str) -> ConsentPurpose:
    """The consent term the subscriber may decide; 422 naming ``purpose`` otherwise."""
    if purpose not in services.pack.purposes:
        rule = "known_purpose"
    elif purpose not in services.terms.purposes:
        rule = "consent_based_purpose"
    elif purpose == GUARDIAN_PURPOSE:
        rule = "decided_by_guardian"
    else:
        return services.terms.purposes[purpose]
    raise InvalidInputError(
        "this purpose cannot be decided here", errors=[{"field": "purpose", "rule": rule}]
    )


def _language(session: Session, services: Services, subject_id: uuid.UUID) -> str:
    access = services.gate.for_subject(session, subject_id, actor=subject_actor(subject_id))
    access.check("accounts.language", "account.management")
    return require_open(session, subject_id).language


@router.get("/me/consents", summary="My consents, their notices and decisions")
def list_consents(
    subscriber: CurrentSubscriber, services: ServicesDep, session: SessionDep
) -> ConsentList:
    """Every consent-based purpose I decide: the notice to show, its state, my last decision."""
    subject_id = subscriber.subject_id
    language = _language(session, services, subject_id)
    access = services.gate.for_subject(session, subject_id, actor=subject_actor(subject_id))
    for element in LEDGER_ELEMENTS:
        access.check(element, LEDGER_PURPOSE)
    state = consent.current_state(session, subject_id)
    enabled = {
        item.key: consent.is_enabled(session, subject_id, item.key, terms=services.terms)
        for item in services.terms.purposes.values()
    }
    policy = services.terms.require_policy()
    items = []
    for item in services.terms.purposes.values():
        decided = state.get(item.key)
        if item.key == GUARDIAN_PURPOSE and decided is None:
            continue  # only a child's account has one, given by the guardian
        notice = app_notice(item, services.terms, language)
        items.append(
            ConsentItem(
                purpose=item.key,
                function=notice.function,
                manual_path=notice.manual_path,
                optional=item.optional,
                categories=list(item.categories),
                decided_by="guardian" if item.key == GUARDIAN_PURPOSE else "subscriber",
                state=_STATES[decided.action] if decided else "not_asked",
                enabled=enabled[item.key],
                last_decision=_decision(decided) if decided else None,
                notice=ConsentNoticeOut(
                    language=notice.language, text=notice.text, hash=notice.hash
                ),
            )
        )
    return ConsentList(
        policy=ConsentPolicyOut(
            version=policy.version, url=policy.url, jurisdiction=policy.jurisdiction
        ),
        language=language,
        consents=items,
    )


def _mark(response: Response, replayed: bool) -> None:
    """Say so when the answer repeats a decision recorded before (draft IETF idempotency)."""
    if replayed:
        response.headers[REPLAYED] = "true"


@router.post(
    "/me/consents/{purpose}/grant",
    status_code=201,
    summary="Give my consent to a purpose",
)
def grant_consent(
    purpose: str,
    *,
    body: ConsentGrantRequest,
    idempotency_key: IdempotencyKey,
    response: Response,
    subscriber: CurrentSubscriber,
    services: ServicesDep,
    session: SessionDep,
) -> ConsentDecisionResult:
    """Record my consent after the app showed the notice named by ``notice_hash``."""
    item = _purpose(services, purpose)
    notice = notices_of(item, services.terms).get(body.notice_hash)
    if notice is None:
        raise InvalidInputError(
            "notice_hash is not the hash of this purpose's current notice",
            errors=[{"field": "notice_hash", "rule": "current_notice"}],
        )
    subject_id = subscriber.subject_id
    require_open(session, subject_id)
    record, replayed = once(
        session,
        subject_id=subject_id,
        key=idempotency_key,
        request={"purpose": purpose, "action": "grant", "notice_hash": body.notice_hash},
        now=services.runtime.clock.now(),
        pack=services.pack,
        decide=lambda: consent.grant(
            session,
            subject_id=subject_id,
            purpose=purpose,
            channel=Channel.APP,
            notice_text=notice.text,
            clock=services.runtime.clock,
            terms=services.terms,
        ),
    )
    _mark(response, replayed)
    return ConsentDecisionResult(purpose=purpose, decision=_decision(record), replayed=replayed)


@router.post("/me/consents/{purpose}/withdraw", summary="Withdraw my consent to a purpose")
def withdraw_consent(
    purpose: str,
    *,
    idempotency_key: IdempotencyKey,
    response: Response,
    subscriber: CurrentSubscriber,
    services: ServicesDep,
    session: SessionDep,
) -> ConsentDecisionResult:
    """Withdraw a live consent: uses stop from the next one on; what was done stays."""
    item = _purpose(services, purpose)
    subject_id = subscriber.subject_id
    language = _language(session, services, subject_id)

    def decide() -> consent.ConsentRecord:
        if purpose == PROFILE_PURPOSE:  # the profile is deleted with its consent
            withdraw_profile(session, AccountContext.of(services), subject_id)
            found = consent.latest(session, subject_id, purpose)
            assert found is not None
        else:
            found = consent.withdraw(
                session,
                subject_id=subject_id,
                purpose=purpose,
                channel=Channel.APP,
                clock=services.runtime.clock,
                terms=services.terms,
            )
        # the connected systems relying on the consent are told in this transaction
        services.consent_withdrawn(
            session,
            subject_id,
            purpose,
            cause="withdrawal",
            origin_id=found.id,
            actor=subject_actor(subject_id),
        )
        return found

    record, replayed = once(
        session,
        subject_id=subject_id,
        key=idempotency_key,
        request={"purpose": purpose, "action": "withdraw"},
        now=services.runtime.clock.now(),
        pack=services.pack,
        decide=decide,
    )
    _mark(response, replayed)
    notice = app_notice(item, services.terms, language)
    return ConsentDecisionResult(
        purpose=purpose,
        decision=_decision(record),
        replayed=replayed,
        now_off=ConsentFunctionOff(
            purpose=purpose, function=notice.function, manual_path=notice.manual_path
        ),
    )


@router.get(
    "/me/consents/receipts/{event_id}",
    summary="The signed receipts of one of my decisions",
)
def consent_receipt(
    event_id: uuid.UUID,
    subscriber: CurrentSubscriber,
    services: ServicesDep,
    session: SessionDep,
) -> ConsentReceiptOut:
    """Kantara Consent Receipt 1.1 and ISO/IEC TS 27560 record, each a JWS (EdDSA)."""
    record = consent.get_event(session, event_id)
    if record.subject_id != subscriber.subject_id:
        raise NotFoundError("no such consent event")
    signer = signer_for(services.runtime.settings)
    token = issue_receipt(
        session,
        event_id,
        signer=signer,
        actor=subject_actor(subscriber.subject_id),
        pack=services.pack,
        terms=services.terms,
    )
    claims = verify_receipt(token, signer)
    iso_record, iso_token = issue_record(claims, signer)
    return ConsentReceiptOut(
        event_id=event_id,
        kid=signer.kid,
        jwks_uri=JWKS_URI,
        kantara=SignedConsentDocument(jws=token, claims=claims),
        iso27560=SignedConsentDocument(jws=iso_token, claims=iso_record),
    )
