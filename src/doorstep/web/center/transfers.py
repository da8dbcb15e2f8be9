"""Messages carried abroad: what sign-up asks, and the consents page's section (decision 0035).

* :func:`carried_by` — the destinations a sign-up must agree to, grouped by
  country, as the sign-up form's checkbox says them: the processors as the pack
  describes them (a list in the reader's language, Babel) and the country's name
  in the reader's language;
* :func:`transfer_rows` — the subscriber's processors abroad with their state,
  for the section of ``/privacy/consents`` (each channel, what carries it and
  where, whether messages go, and a grant or withdraw button);
* ``POST /privacy/transfers/{recipient}`` — ``action=grant|withdraw``: a consent
  mechanism (reference ``web``) recorded or revoked; withdrawal stops that
  channel's messages from the next one on, sign-in codes included.

The home country and the consents are read through the purpose gate
(``privacy.rights``), as the API does; a recipient that is not one of the
subscriber's processors abroad is 404.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping
from typing import Annotated, Any

from babel.lists import format_list
from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.orm import Session
from starlette.datastructures import FormData

from doorstep.accounts import transfer_consents
from doorstep.accounts.account.lookup import require_open
from doorstep.accounts.transfer_consents import Carrier
from doorstep.audit.entries import subject_actor
from doorstep.core.errors import NotFoundError
from doorstep.privacy.transfers.notices import country_name
from doorstep.web.center.request_view import run
from doorstep.web.csrf import checked_form
from doorstep.web.i18n import _
from doorstep.web.session import PageSubscriber
from doorstep.web.templating import DONE, language_of
from doorstep.web.work import services_of

router = APIRouter(include_in_schema=False)
Form = Annotated[FormData, Depends(checked_form)]
#: What the consents read, and why (as ``GET /api/v1/accounts/me/transfers``).
ELEMENTS = ("subject_regions.country", "transfer_mechanisms.subject_id")
PURPOSE = "privacy.rights"
REFERENCE = "web"
#: Each channel as the page names it (message ids, translated in the template).
CHANNELS = {
    "email": _("E-mail"),
    "sms": _("Text messages"),
    "push": _("Notifications to the app"),
}
DONE.update(
    {
        "transfer_given": _("Your consent to the transfer is recorded: your messages go again."),
        "transfer_withdrawn": _(
            "Your consent to the transfer is withdrawn: messages by that channel stop from the "
            "next one on, sign-in codes included."
        ),
    }
)


def _noun(description: str) -> str:
    """A pack's description of a processor as a phrase inside a sentence ("the SMTP relay …")."""
    phrase = description.strip().rstrip(".")
    if len(phrase) > 1 and phrase[0].isupper() and phrase[1].islower():
        phrase = phrase[0].lower() + phrase[1:]
    return phrase


def _list(items: list[str], language: str) -> str:
    try:
        return format_list(items, locale=language)
    except (ValueError, TypeError):  # the pseudo-locale is no Babel locale
        return format_list(items, locale="en")


def carried_by(destinations: Iterable[Mapping[str, Any]], language: str) -> list[dict[str, str]]:
    """Per country, ``{carriers, country}`` for the sign-up form (the problem's destinations)."""
    by_country: dict[str, list[str]] = {}
    for item in destinations:
        names = by_country.setdefault(str(item["country"]), [])
        name = _noun(str(item["description"]))
        if name not in names:
            names.append(name)
    return [
        {"carriers": _list(names, language), "country": country_name(code, language)}
        for code, names in by_country.items()
    ]


def _carriers(request: Request, subject_id: uuid.UUID) -> list[Carrier]:
    services = services_of(request)

    def work(session: Session) -> list[Carrier]:
        require_open(session, subject_id)
        access = services.gate.for_subject(session, subject_id, actor=subject_actor(subject_id))
        for element in ELEMENTS:
            access.check(element, PURPOSE)
        return transfer_consents.carriers_of(
            session,
            services.sharing,
            services.pack,
            subject_id,
            today=services.runtime.clock.now().date(),
        )[1]

    return run(request, work)


def transfer_rows(request: Request, subject_id: uuid.UUID) -> list[dict[str, Any]]:
    """The subscriber's processors abroad as the consents page shows them."""
    language = language_of(request)
    return [
        {
            "recipient": item.destination.recipient,
            "channel": CHANNELS.get(item.destination.channel, item.destination.channel),
            "carrier": _noun(item.destination.description),
            "country": country_name(item.destination.country, language),
            "needs_consent": item.destination.needs_consent,
            "possible": item.destination.possible,
            "granted": item.consent is not None,
            "delivers": item.delivers,
        }
        for item in _carriers(request, subject_id)
    ]


@router.post("/privacy/transfers/{recipient}")
def decide_transfer(
    request: Request, recipient: str, subscriber: PageSubscriber, form: Form
) -> Response:
    """Agree to, or withdraw from, the transfer of messages to ``recipient`` (reference: web)."""
    action = str(form.get("action") or "")
    subject_id = subscriber.subject_id
    carrier = next(
        (
            item
            for item in _carriers(request, subject_id)
            if item.destination.recipient == recipient and item.destination.possible
        ),
        None,
    )
    if carrier is None or action not in ("grant", "withdraw"):
        raise NotFoundError("no such transfer")
    clock = services_of(request).runtime.clock
    actor = subject_actor(subject_id)

    def work(session: Session) -> bool:
        require_open(session, subject_id)
        if action == "grant":
            return transfer_consents.grant(
                session,
                subject_id,
                carrier.destination,
                clock=clock,
                actor=actor,
                reference=REFERENCE,
            )[1]
        return bool(
            transfer_consents.withdraw(session, subject_id, recipient, clock=clock, actor=actor)
        )

    run(request, work)
    done = "transfer_given" if action == "grant" else "transfer_withdrawn"
    return RedirectResponse(f"/privacy/consents?done={done}#transfers", status_code=303)
