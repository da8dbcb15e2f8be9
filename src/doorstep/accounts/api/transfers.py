"""The subscriber's transfer consents under ``/api/v1/accounts/me/transfers`` (decision 0035).

* ``GET /me/transfers`` — my home country and each processor abroad that carries
  one of my channels (e-mail, SMS, push): its country (named in my language),
  the pack's description of it, whether my messages need my consent, and the
  consent in force;
* ``PUT /me/transfers/{recipient}`` — I agree to the transfer (a consent
  mechanism naming me and the processor, reference ``app``): 201 when recorded,
  200 when one was already in force (nothing recorded);
* ``DELETE /me/transfers/{recipient}`` — I withdraw it: every consent in force
  for that processor is revoked (200; ``changed`` false when there was none).
  The gate decides at each delivery, so the channel's next message, sign-in
  codes included, is not sent (``now_stopped`` names the channel).

PUT and DELETE set a state rather than append a decision, so a repeated request
changes nothing and answers the same: they need no ``Idempotency-Key`` (unlike
the consent ledger's POST decisions).  A recipient that is not a processor
abroad carrying my messages is a 422 naming ``recipient``; a grant the pack
makes useless (``deidentify: always``) is a 403 ``transfer-impossible``.  The
home country and the consents are read through the purpose gate
(``privacy.rights``); every change is audited by the transfer mechanisms.
"""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Response
from sqlalchemy.orm import Session

from doorstep.accounts import transfer_consents
from doorstep.accounts.account.lookup import require_open
from doorstep.accounts.api.transfer_schemas import (
    TransferCarrierOut,
    TransferDecisionOut,
    TransferList,
)
from doorstep.accounts.auth import CurrentSubscriber
from doorstep.accounts.transfer_consents import Carrier, TransferImpossibleError
from doorstep.audit.entries import subject_actor
from doorstep.core.errors import InvalidInputError
from doorstep.core.problems import problem_responses
from doorstep.privacy.transfers.notices import country_name
from doorstep.services import Services, ServicesDep, SessionDep

router = APIRouter(responses=problem_responses(403, 404))
#: The elements the list reads, and why (telling the subscriber what happens to its data).
ELEMENTS = ("subject_regions.country", "transfer_mechanisms.subject_id")
PURPOSE = "privacy.rights"
#: Where a consent given here was given.
REFERENCE = "app"


def _carriers(
    session: Session, services: Services, subject_id: uuid.UUID
) -> tuple[str, str, list[Carrier]]:
    """(home, language, carriers) of an open account, read through the purpose gate."""
    language = require_open(session, subject_id).language
    access = services.gate.for_subject(session, subject_id, actor=subject_actor(subject_id))
    for element in ELEMENTS:
        access.check(element, PURPOSE)
    home, carriers = transfer_consents.carriers_of(
        session,
        services.sharing,
        services.pack,
        subject_id,
        today=services.runtime.clock.now().date(),
    )
    return home, language, carriers


def _out(carrier: Carrier, language: str) -> TransferCarrierOut:
    destination, consent = carrier.destination, carrier.consent
    return TransferCarrierOut(
        recipient=destination.recipient,
        channel=destination.channel,
        country=destination.country,
        country_name=country_name(destination.country, language),
        description=destination.description,
        needs_consent=destination.needs_consent,
        possible=destination.possible,
        state="granted" if consent is not None else "not_granted",
        consent_id=consent.id if consent is not None else None,
        reference=consent.reference if consent is not None else None,
        delivers=carrier.delivers,
    )


def _one(carriers: list[Carrier], recipient: str) -> Carrier:
    """The carrier ``recipient`` of the subscriber; 422 naming ``recipient`` otherwise."""
    for carrier in carriers:
        if carrier.destination.recipient == recipient:
            return carrier
    raise InvalidInputError.of(
        "recipient", "foreign_carrier", "no processor abroad carries your messages by this name"
    )


@router.get("/me/transfers", summary="The processors abroad that carry my messages")
def list_transfers(
    subscriber: CurrentSubscriber, services: ServicesDep, session: SessionDep
) -> TransferList:
    """My home country and each processor abroad carrying my e-mail, SMS or push messages."""
    home, language, carriers = _carriers(session, services, subscriber.subject_id)
    return TransferList(
        home=home, language=language, carriers=[_out(item, language) for item in carriers]
    )


@router.put(
    "/me/transfers/{recipient}",
    status_code=201,
    summary="Agree to my messages being carried abroad by a processor",
    responses={200: {"description": "The consent was already in force: nothing recorded."}},
)
def grant_transfer(
    recipient: str,
    response: Response,
    subscriber: CurrentSubscriber,
    services: ServicesDep,
    session: SessionDep,
) -> TransferDecisionOut:
    """Record my consent to the transfer of my messages to ``recipient`` (reference ``app``)."""
    subject_id = subscriber.subject_id
    _home, language, carriers = _carriers(session, services, subject_id)
    carrier = _one(carriers, recipient)
    if not carrier.destination.possible:
        raise TransferImpossibleError(
            "the policy pack lets no address leave: a consent would not carry messages",
            reason="deidentify_always",
            destinations=[carrier.destination.notice()],
        )
    consent, recorded = transfer_consents.grant(
        session,
        subject_id,
        carrier.destination,
        clock=services.runtime.clock,
        actor=subject_actor(subject_id),
        reference=REFERENCE,
    )
    if not recorded:
        response.status_code = 200
    return TransferDecisionOut(
        carrier=_out(Carrier(carrier.destination, consent), language), changed=recorded
    )


@router.delete(
    "/me/transfers/{recipient}",
    summary="Withdraw my consent to my messages being carried abroad by a processor",
)
def withdraw_transfer(
    recipient: str, subscriber: CurrentSubscriber, services: ServicesDep, session: SessionDep
) -> TransferDecisionOut:
    """Withdraw it: from the next message on, the channel's messages stop (codes included)."""
    subject_id = subscriber.subject_id
    _home, language, carriers = _carriers(session, services, subject_id)
    carrier = _one(carriers, recipient)
    revoked = transfer_consents.withdraw(
        session,
        subject_id,
        recipient,
        clock=services.runtime.clock,
        actor=subject_actor(subject_id),
    )
    after = Carrier(carrier.destination, None)
    return TransferDecisionOut(
        carrier=_out(after, language),
        changed=bool(revoked),
        now_stopped=None if after.delivers else carrier.destination.channel,
    )
