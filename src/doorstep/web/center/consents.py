"""Consents and optional functions: turn each on or off, see the history, read the receipts.

Routes (all for the signed-in subscriber):

* ``GET /privacy/consents`` — every optional function of the policy pack with
  its state, what it uses, how to do without it, and a button to give or
  withdraw consent; the processors abroad that carry the subscriber's messages
  (:mod:`.transfers`, decision 0035); the history of decisions, each with its receipt;
* ``POST /privacy/consents/{purpose}`` — ``action=grant|withdraw``: a ledger
  event on channel ``web``.  A grant names the notice exactly as the page showed
  it (:func:`notice_of` builds both, in the reader's language, so its SHA-256 is
  the hash of what was read);
* ``GET /privacy/consents/receipts/{event_id}`` — one decision's signed receipt:
  its fields in a table and the JWS itself; ``…/receipt.jws`` downloads the JWS.

Someone else's event is 404.  Reading the ledger is checked by the purpose gate
(``consent.management``); issuing a receipt is audited by the consent area.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session
from starlette.datastructures import FormData

from doorstep.audit.entries import subject_actor
from doorstep.core.errors import NotFoundError
from doorstep.privacy.consent import services as consent
from doorstep.privacy.consent.models import Channel
from doorstep.privacy.consent.receipts import issue_receipt, verify_receipt
from doorstep.privacy.consent.signing import signer_for
from doorstep.privacy.consent.terms import ConsentPurpose
from doorstep.privacy.datamap.pack import PolicyPack
from doorstep.web.center import wording as words
from doorstep.web.center.home import text
from doorstep.web.center.request_view import run
from doorstep.web.center.transfers import transfer_rows
from doorstep.web.csrf import checked_form
from doorstep.web.i18n import _, translations
from doorstep.web.session import PageSubscriber
from doorstep.web.templating import DONE, language_of, render
from doorstep.web.work import attempt, services_of

router = APIRouter(include_in_schema=False)
Form = Annotated[FormData, Depends(checked_form)]
#: The ledger elements the page reads (checked by the purpose gate, as the CLI does).
LEDGER_ELEMENTS = (
    "consent_events.purpose",
    "consent_events.action",
    "consent_events.channel",
    "consent_events.policy_version",
    "consent_events.occurred_at",
)
LEDGER_PURPOSE = "consent.management"
DONE.update(
    {
        "consent_given": _(
            "Your consent is recorded. Its receipt is in the history at the end of the page."
        ),
        "consent_withdrawn": _(
            "Your consent is withdrawn: the function is off from now on. What was done while "
            "you agreed stays as it was. Each function says how to do without it."
        ),
    }
)


@dataclass(frozen=True, slots=True)
class Notice:
    """What the page shows about one optional function (and what a grant agrees to)."""

    title: str
    lines: tuple[tuple[str, str], ...]

    @property
    def text(self) -> str:
        """The notice as one text: the title, then one ``label: value`` line each."""
        return "\n".join([self.title, *(f"{label}: {value}" for label, value in self.lines)])


def notice_of(
    item: ConsentPurpose, pack: PolicyPack, gettext: Callable[[str], str], language: str
) -> Notice:
    """The notice of ``item`` of ``pack`` in ``language`` (``gettext`` translates into it).

    The pack's own words come first: a term the pack translates into ``language``
    (``translations`` in its ``consent.yaml``) is shown in its words; otherwise the
    English words go through the catalogue (the reference pack's are in it).
    """
    own = dict(item.translations).get(language)
    uses = ", ".join(gettext(words.category(key)) for key in item.categories)
    return Notice(
        title=own.function if own else gettext(item.function),
        lines=(
            (gettext(_("What it does")), gettext(words.purpose(pack, item.key))),
            (gettext(_("What it uses")), uses or gettext(_("Nothing we store"))),
            (gettext(_("Without it")), own.manual_path if own else gettext(item.manual_path)),
            (
                gettext(_("If you change your mind")),
                gettext(
                    _(
                        "You can withdraw your consent here at any time. Withdrawing stops any "
                        "use from then on; it does not undo what was done while you agreed."
                    )
                ),
            ),
        ),
    )


def _gettext(request: Request) -> Callable[[str], str]:
    return translations(language_of(request)).gettext


def _page(request: Request, subject_id: uuid.UUID) -> dict[str, Any]:
    services = services_of(request)
    gettext = _gettext(request)

    def work(session: Session) -> dict[str, Any]:
        access = services.gate.for_subject(session, subject_id, actor=subject_actor(subject_id))
        for element in LEDGER_ELEMENTS:
            access.check(element, LEDGER_PURPOSE)
        functions = consent.optional_functions(session, subject_id, terms=services.terms)
        enabled = {item.purpose: item.enabled for item in functions}
        state = consent.current_state(session, subject_id)
        events = consent.history(session, subject_id)
        return {"enabled": enabled, "state": state, "events": list(reversed(events))}

    found = run(request, work)
    terms = services.terms
    functions = []
    for item in terms.optional_functions:
        decision = found["state"].get(item.key)
        functions.append(
            {
                "key": item.key,
                "notice": notice_of(item, services.pack, gettext, language_of(request)),
                "enabled": found["enabled"].get(item.key, False),
                "granted": decision is not None and decision.granted,
                "decision": words.DECISIONS[decision.action] if decision else None,
                "since": decision.occurred_at if decision else None,
            }
        )
    titles = {item.key: item.function for item in terms.purposes.values()}
    return {
        "functions": functions,
        "transfers": transfer_rows(request, subject_id),
        "events": found["events"],
        "titles": titles,
        "words_decisions": words.DECISIONS,
        "words_channels": words.CHANNELS,
    }


@router.get("/privacy/consents", response_class=HTMLResponse)
def consents_page(request: Request, subscriber: PageSubscriber) -> HTMLResponse:
    """The optional functions with their state and buttons, and the history of decisions."""
    return render(
        request, "center/privacy_consents.html", error=None, **_page(request, subscriber.subject_id)
    )


@router.post("/privacy/consents/{purpose}", response_class=HTMLResponse)
def decide(request: Request, purpose: str, subscriber: PageSubscriber, form: Form) -> Response:
    """Give or withdraw consent to one optional function (channel: web)."""
    services = services_of(request)
    items = {item.key: item for item in services.terms.optional_functions}
    action = text(form, "action")
    if purpose not in items or action not in ("grant", "withdraw"):
        raise NotFoundError("no such optional function")
    subject_id, clock = subscriber.subject_id, services.runtime.clock
    notice = notice_of(items[purpose], services.pack, _gettext(request), language_of(request))

    def work(session: Session) -> consent.ConsentRecord:
        if action == "grant":
            return consent.grant(
                session,
                subject_id=subject_id,
                purpose=purpose,
                channel=Channel.WEB,
                notice_text=notice.text,
                clock=clock,
                terms=services.terms,
            )
        withdrawn = consent.withdraw(
            session,
            subject_id=subject_id,
            purpose=purpose,
            channel=Channel.WEB,
            clock=clock,
            terms=services.terms,
        )
        # the connected systems relying on the consent are told in this transaction
        services.consent_withdrawn(
            session,
            subject_id,
            purpose,
            cause="withdrawal",
            origin_id=withdrawn.id,
            actor=subject_actor(subject_id),
        )
        return withdrawn

    outcome = attempt(request, work)
    if outcome.error is not None:
        return render(
            request,
            "center/privacy_consents.html",
            status_code=outcome.error.status,
            error=_("This could not be done: the page was out of date. Here is how things stand."),
            **_page(request, subject_id),
        )
    done = "consent_given" if action == "grant" else "consent_withdrawn"
    return RedirectResponse(f"/privacy/consents?done={done}", status_code=303)


def _receipt(request: Request, subject_id: uuid.UUID, event_id: uuid.UUID) -> str:
    """The signed receipt of the subscriber's own event ``event_id`` (404 otherwise)."""
    services = services_of(request)
    signer = signer_for(services.runtime.settings)

    def work(session: Session) -> str:
        record = consent.get_event(session, event_id)
        if record.subject_id != subject_id:
            raise NotFoundError("no such consent event")
        return issue_receipt(
            session,
            event_id,
            signer=signer,
            actor=subject_actor(subject_id),
            pack=services.pack,
            terms=services.terms,
        )

    return run(request, work)


@router.get("/privacy/consents/receipts/{event_id}", response_class=HTMLResponse)
def receipt_page(request: Request, event_id: uuid.UUID, subscriber: PageSubscriber) -> HTMLResponse:
    """The receipt's fields in a table, and the signed receipt (JWS) to keep."""
    token = _receipt(request, subscriber.subject_id, event_id)
    signer = signer_for(services_of(request).runtime.settings)
    claims = verify_receipt(token, signer)
    (service,) = claims["services"]
    (purpose,) = service["purposes"]
    titles = {item.key: item.function for item in services_of(request).terms.purposes.values()}
    return render(
        request,
        "center/privacy_receipt.html",
        claims=claims,
        purpose=purpose,
        controller=claims["piiControllers"][0],
        decision=words.RECEIPT_EVENTS.get(
            claims["consentEvent"]["type"], claims["consentEvent"]["type"]
        ),
        channel=words.CHANNELS.get(claims["collectionMethod"], claims["collectionMethod"]),
        title=titles.get(purpose["purposeKey"], purpose["purposeKey"]),
        categories=[words.category(key) for key in purpose["piiCategory"]],
        token=token,
        kid=signer.kid,
        jwks=signer.jwks(),
        event_id=event_id,
    )


@router.get("/privacy/consents/receipts/{event_id}/receipt.jws")
def receipt_file(request: Request, event_id: uuid.UUID, subscriber: PageSubscriber) -> Response:
    """The signed receipt as a file (compact JWS, ``application/jose``)."""
    token = _receipt(request, subscriber.subject_id, event_id)
    return Response(
        token + "\n",
        media_type="application/jose",
        headers={"Content-Disposition": f'attachment; filename="consent-receipt-{event_id}.jws"'},
    )
