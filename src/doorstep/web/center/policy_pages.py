"""The privacy policy pages, from the stored versions (CPE-VII.2, CPE-VII.5, CORP-8.1, CPE-0.2).

* ``GET /policy`` — the version in force: its id, effective date and change
  summary, the history (every stored version, each linked by id, plus earlier
  versions the pack lists in ``policy.history`` of ``consent.yaml``), the
  controller's contact and the texts; ``?version=ID`` and ``?at=YYYY-MM-DD``
  show an archived version instead;
* ``GET /policy/versions/{id}`` — one version by id, with its classified changes
  (and the publisher's reason where a major change was treated as minor);
* ``GET /policy/notice/{id}`` and ``POST`` — the notice of a version that needs
  the subscriber's answer, and the answer: accept, or refuse (the version they
  accepted before keeps governing them; where the new version says so, the
  answer offers deregistration).  Until they answer, every page of the privacy
  center shows the notice (:func:`open_notices_of`, read by the page template).

Texts: the operator's own policy (``privacy-policy.<language>.md`` of the
version's pack, in the reader's language, else English) rendered from Markdown
with raw HTML off, and the reference texts (``*.txt``) as they are.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse
from markdown_it import MarkdownIt
from starlette.datastructures import FormData

from doorstep.core.errors import DoorstepError
from doorstep.privacy.changes.notices import open_notices, respond
from doorstep.privacy.policies import versions
from doorstep.privacy.policies.facts import OFFER_DEREGISTRATION
from doorstep.web.center import account as center_account
from doorstep.web.csrf import checked_form
from doorstep.web.i18n import _
from doorstep.web.session import PageSubscriber
from doorstep.web.templating import language_of, render
from doorstep.web.work import attempt, services_of

router = APIRouter(include_in_schema=False)
Form = Annotated[FormData, Depends(checked_form)]

#: The reference texts, in the order the page shows them (file, anchor, heading).
REFERENCE_TEXTS = (
    ("cpe-privacy-policy.txt", "product", _("Product privacy policy (routers, gateways, app)")),
    ("corporate-privacy-policy.txt", "corporate", _("Corporate privacy policy")),
)
_MARKDOWN = MarkdownIt("commonmark", {"html": False, "linkify": False})


def operator_text(documents: dict[str, str], language: str) -> str | None:
    """The operator's own policy as safe HTML, in ``language`` or English; None when absent."""
    for name in (f"privacy-policy.{language}.md", "privacy-policy.en.md"):
        if name in documents:
            return str(_MARKDOWN.render(documents[name]))
    return None


def _texts(documents: dict[str, str]) -> list[dict[str, str]]:
    return [
        {"anchor": anchor, "title": title, "text": documents[name]}
        for name, anchor, title in REFERENCE_TEXTS
        if name in documents
    ]


def open_notices_of(request: Request) -> list[versions.Version]:
    """The versions waiting for the signed-in subscriber's answer (none when signed out)."""
    subscriber = getattr(request.state, "subscriber", None)
    if subscriber is None:
        return []
    services = services_of(request)
    with services.runtime.sessions.begin() as session:
        return open_notices(session, services, subscriber.subject_id)


def _page(request: Request, version: versions.Version | None, *, status: int = 200) -> HTMLResponse:
    services = services_of(request)
    clock = services.runtime.clock
    with services.runtime.sessions.begin() as session:
        versions.ensure_initial(session, services.pack, services.terms, clock)
        history = versions.all_versions(session)
        current = versions.in_force(session, clock.now())
    shown = version or current
    return render(
        request,
        "center/policy.html",
        status_code=status,
        shown=shown,
        current=current,
        history=list(reversed(history)),
        earlier=center_account.published_policy(services.pack).history,
        url=services.terms.policy.url if services.terms.policy else None,
        controller=services.pack.controller,
        operator_text=None
        if shown is None
        else operator_text(shown.documents, language_of(request)),
        texts=[] if shown is None else _texts(shown.documents),
        policy_language=services.terms.policy.language if services.terms.policy else "en",
        policy_notices=open_notices_of(request),
    )


def _not_found(request: Request) -> HTMLResponse:
    return render(
        request,
        "error.html",
        status_code=404,
        status=404,
        message=_("There is no version of the privacy policy with this id or at this date."),
    )


@router.get("/policy", response_class=HTMLResponse)
def policy_page(
    request: Request, version: str | None = None, at: str | None = None
) -> HTMLResponse:
    """The version in force, or the one named by ``version`` or in force ``at`` a date."""
    if version is None and at is None:
        return _page(request, None)
    services = services_of(request)
    with services.runtime.sessions.begin() as session:
        versions.ensure_initial(session, services.pack, services.terms, services.runtime.clock)
        found: versions.Version | None = None
        if version is not None:
            found = versions.get(session, version[:64])
        elif at is not None:
            try:
                day = date.fromisoformat(at[:10])
            except ValueError:
                return _not_found(request)
            found = versions.in_force(session, datetime.combine(day, time.max, tzinfo=UTC))
    return _page(request, found) if found is not None else _not_found(request)


@router.get("/policy/versions/{version_id}", response_class=HTMLResponse)
def version_page(request: Request, version_id: str) -> HTMLResponse:
    """One version by id, with its changes (CPE-VII.5)."""
    services = services_of(request)
    with services.runtime.sessions.begin() as session:
        versions.ensure_initial(session, services.pack, services.terms, services.runtime.clock)
        found = versions.get(session, version_id[:64])
    return _page(request, found) if found is not None else _not_found(request)


def _notice(
    request: Request, version: versions.Version, *, status: int = 200, **context: Any
) -> HTMLResponse:
    return render(
        request,
        "center/policy_notice.html",
        status_code=status,
        version=version,
        policy_notices=[],
        **context,
    )


@router.get("/policy/notice/{version_id}", response_class=HTMLResponse)
def notice_page(request: Request, version_id: str, subscriber: PageSubscriber) -> HTMLResponse:
    """What changes in a version that needs the subscriber's answer, and the two answers."""
    services = services_of(request)
    with services.runtime.sessions.begin() as session:
        found = versions.get(session, version_id[:64])
    if found is None or not found.requires_acceptance:
        return _not_found(request)
    return _notice(request, found, outcome=None, error=None)


@router.post("/policy/notice/{version_id}", response_class=HTMLResponse)
def answer_notice(
    request: Request, version_id: str, subscriber: PageSubscriber, form: Form
) -> HTMLResponse:
    """Accept or refuse; refusing keeps the version accepted before (CPE-VII.1)."""
    services = services_of(request)
    with services.runtime.sessions.begin() as session:
        found = versions.get(session, version_id[:64])
    if found is None or not found.requires_acceptance:
        return _not_found(request)
    choice = str(form.get("answer") or "")
    if choice not in ("accept", "refuse"):
        return _notice(
            request, found, status=422, outcome=None, error=_("Choose to accept or to refuse.")
        )
    outcome = attempt(
        request,
        lambda session: respond(
            session,
            services,
            subscriber.subject_id,
            found.id,
            accept=choice == "accept",
            channel="web",
        ),
    )
    if not outcome.ok or outcome.value is None:
        error: DoorstepError | None = outcome.error
        return _notice(
            request,
            found,
            status=error.status if error else 500,
            outcome=None,
            error=_("Your answer could not be recorded: it was already given."),
        )
    return _notice(
        request,
        found,
        outcome=outcome.value,
        error=None,
        offer=found.facts.on_refusal == OFFER_DEREGISTRATION,
    )
