"""What the "My privacy" pages share: running a service, and a request as a page shows it.

* :func:`run` — run a read (or a change) in its own transaction and hand back
  its value; an error becomes the HTML error page (404 for someone else's
  request, 409 …), as the page module's contract wants.
* :class:`RequestView` — one data-subject request in words (kind, status,
  dates, what it is about, the refusal reason and where to complain), built
  from the REST API's own view of it (:func:`doorstep.privacy.requests.api.out`).
* :func:`restrictable_purposes` — the purposes a subscriber may restrict or
  object to: those the data map uses on customers' data, except consent-based
  ones (withdrawn on the consents page) and those resting on a legal obligation
  (the law makes us continue them).

Contract: nothing here logs or puts personal data into a URL; views hold ids,
codes turned into words, and instants.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import TypeVar

from fastapi import Request
from sqlalchemy.orm import Session

from doorstep.privacy.consent.terms import ConsentTerms
from doorstep.privacy.datamap.pack import PolicyPack
from doorstep.privacy.purposes import PurposeGate
from doorstep.privacy.requests.api import RequestOut
from doorstep.privacy.requests.context import RequestContext
from doorstep.privacy.requests.models import RequestKind, RequestStatus, SubjectRequest
from doorstep.vocabulary.declarations import LegalBasis
from doorstep.web.center import wording as words
from doorstep.web.i18n import translations
from doorstep.web.templating import language_of
from doorstep.web.work import attempt, services_of

T = TypeVar("T")
#: The data subject of subscribers' data in the data map (fideslang).
CUSTOMER = "customer"


def context_of(request: Request) -> RequestContext:
    """The requests services' context for this app."""
    return RequestContext.of(services_of(request))


def translated(request: Request, options: Iterable[tuple[str, str]]) -> list[tuple[str, str]]:
    """``options`` with their labels translated into the page's language (for ``select``)."""
    gettext = translations(language_of(request)).gettext
    return [(value, gettext(label)) for value, label in options]


def run(request: Request, work: Callable[[Session], T]) -> T:
    """Run ``work`` in a transaction of its own; raise its error for the error page."""
    outcome = attempt(request, work)
    if outcome.error is not None:
        raise outcome.error
    assert outcome.value is not None  # work returns a value
    return outcome.value


@dataclass(frozen=True, slots=True)
class RequestView:
    """One request as the requester reads it (words are message ids: templates translate)."""

    id: uuid.UUID
    kind: str
    kind_words: str
    status: str
    status_words: str
    received_at: datetime
    #: None while the clock is paused (the requester owes the code).
    due_at: datetime | None
    closed_at: datetime | None
    refusal: str
    complaint: str
    fee_due: bool
    export: str | None
    export_expires_at: datetime | None
    #: What the request is about, in words (a ground, a purpose, an element), or ''.
    about: str = ""

    @property
    def open(self) -> bool:
        """Whether the request is still waiting for its answer."""
        return self.status not in (RequestStatus.COMPLETED, RequestStatus.REFUSED)


def view_of(
    out: RequestOut,
    automatic: tuple[str, ...],
    *,
    row: SubjectRequest | None = None,
    pack: PolicyPack | None = None,
    closed_at: datetime | None = None,
) -> RequestView:
    """A :class:`RequestView` of the API's ``out``; ``row`` and ``pack`` add what it is about."""
    about = ""
    if row is not None and pack is not None:
        if row.kind is RequestKind.DELETION:
            about = words.ground(row.ground)
        elif row.kind is RequestKind.CORRECTION:
            about = words.element(row.element)
        elif row.purpose:
            about = words.purpose(pack, row.purpose)
    return RequestView(
        id=out.id,
        kind=out.kind,
        kind_words=words.kind(out.kind),
        status=out.status,
        status_words=words.status(out.status, out.kind, automatic),
        received_at=out.received_at,
        due_at=None if out.status == RequestStatus.VERIFYING else out.due_at,
        closed_at=row.closed_at if row is not None else closed_at,
        refusal=words.refusal(out.refusal_code),
        complaint=out.complaint_route or "",
        fee_due=out.fee_due,
        export=out.export,
        export_expires_at=out.export_expires_at,
        about=about,
    )


def restrictable_purposes(gate: PurposeGate, pack: PolicyPack) -> list[tuple[str, str]]:
    """``(purpose key, words)`` of the purposes a subscriber may restrict or object to."""
    bases: dict[str, set[LegalBasis]] = {}
    for (element, purpose), basis in gate.index.items():
        declaration = gate.declarations.get(element)
        if declaration is not None and declaration.subject == CUSTOMER:
            bases.setdefault(purpose, set()).add(basis)
    return [
        (key, words.purpose(pack, key))
        for key in pack.purposes
        if key in bases
        and key not in gate.consent_purposes
        and LegalBasis.LEGAL_OBLIGATION not in bases[key]
    ]


def optional_purposes(terms: ConsentTerms) -> list[tuple[str, str]]:
    """``(purpose key, words)`` of the optional functions (for a withdrawal request)."""
    return [(item.key, item.function) for item in terms.optional_functions]
