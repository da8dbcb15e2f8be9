"""Download my data: file an access or portability request, follow it, download the ZIP.

Routes (all for the signed-in subscriber):

* ``GET /privacy/data`` — what the file holds, the two ways to ask (access:
  a copy to read; portability: the same structured files, to take elsewhere),
  and my access/portability requests: being prepared → ready until a date →
  expired.  While one is being prepared, htmx refreshes the list every few
  seconds; without JavaScript a "Check again" link does the same;
* ``POST /privacy/data`` — ``kind=access|portability``: files the request with
  :func:`doorstep.privacy.requests.intake.submit_signed_in` (the REST API's
  call), which starts the ``requests.export`` job; then back to the page;
* ``GET /privacy/data/{request_id}/download`` — the ZIP
  (:func:`doorstep.privacy.requests.downloads.fetch`, audited) as an
  attachment; someone else's request is 404; a page says when it is still
  being prepared or has expired.
"""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session
from starlette.datastructures import FormData

from doorstep.audit.entries import subject_actor
from doorstep.core.errors import NotFoundError
from doorstep.privacy.requests import intake
from doorstep.privacy.requests.api import requests_of
from doorstep.privacy.requests.downloads import EXPORT_KINDS, ExportNotReadyError, fetch
from doorstep.privacy.requests.models import RequestKind
from doorstep.privacy.requests.services import get
from doorstep.web.center import wording as words
from doorstep.web.center.home import text
from doorstep.web.center.request_view import RequestView, context_of, run, view_of
from doorstep.web.csrf import checked_form
from doorstep.web.i18n import _
from doorstep.web.session import PageSubscriber
from doorstep.web.templating import DONE, render
from doorstep.web.work import attempt, services_of

router = APIRouter(include_in_schema=False)
Form = Annotated[FormData, Depends(checked_form)]
EXPORT_CODES = tuple(kind.value for kind in EXPORT_KINDS)
DONE.update(
    {
        "export_requested": _(
            "We are preparing your data. It usually takes a minute; this page shows when it "
            "is ready, and we also send you a message."
        ),
    }
)


def _downloads(request: Request, subject_id: uuid.UUID) -> list[RequestView]:
    services = services_of(request)
    now = services.runtime.clock.now()
    automatic = services.runtime.settings.requests_automatic
    found = run(request, lambda session: requests_of(session, subject_id, now))
    return [view_of(out, automatic) for out in found if out.kind in EXPORT_CODES]


def _page(
    request: Request, subject_id: uuid.UUID, *, status_code: int = 200, error: str | None = None
) -> HTMLResponse:
    downloads = _downloads(request, subject_id)
    return render(
        request,
        "center/privacy_data.html",
        status_code=status_code,
        downloads=downloads,
        preparing=any(item.export == "preparing" for item in downloads),
        days=services_of(request).runtime.settings.requests_export_days,
        export_words=words.EXPORT_STATES,
        error=error,
    )


@router.get("/privacy/data", response_class=HTMLResponse)
def data_page(request: Request, subscriber: PageSubscriber) -> HTMLResponse:
    """The two ways to ask for my data, and my downloads with their state."""
    return _page(request, subscriber.subject_id)


@router.post("/privacy/data", response_class=HTMLResponse)
def ask_for_data(request: Request, subscriber: PageSubscriber, form: Form) -> Response:
    """File an access or portability request; the export job starts at once."""
    kind = text(form, "kind")
    if kind not in EXPORT_CODES:
        return _page(
            request,
            subscriber.subject_id,
            status_code=422,
            error=_("Choose one of the two buttons."),
        )
    ctx = context_of(request)
    outcome = attempt(
        request,
        lambda session: intake.submit_signed_in(
            session, ctx, subject_id=subscriber.subject_id, kind=RequestKind(kind)
        ),
    )
    if outcome.error is not None:
        return _page(
            request,
            subscriber.subject_id,
            status_code=outcome.error.status,
            error=_("Your request could not be filed. Please try again."),
        )
    return RedirectResponse("/privacy/data?done=export_requested", status_code=303)


@router.get("/privacy/data/{request_id}/download", response_model=None)
def download(
    request: Request, request_id: uuid.UUID, subscriber: PageSubscriber
) -> Response | HTMLResponse:
    """The ZIP of my access or portability request; a page when it is not ready (or expired)."""
    ctx = context_of(request)

    def work(session: Session) -> bytes:
        row = get(session, request_id)
        if row.subject_id != subscriber.subject_id or row.kind not in EXPORT_KINDS:
            raise NotFoundError("no such request", request=str(request_id))
        return fetch(session, ctx, row, actor=subject_actor(row.subject_id))

    outcome = attempt(request, work)
    if isinstance(outcome.error, ExportNotReadyError):
        reason = str(outcome.error.fields.get("reason", "preparing"))
        return render(
            request,
            "center/privacy_data_wait.html",
            status_code=outcome.error.status,
            reason=reason,
            message=words.NOT_READY.get(reason, words.NOT_READY["expired"]),
        )
    if outcome.error is not None:
        raise outcome.error
    assert outcome.value is not None
    return Response(
        outcome.value,
        media_type="application/zip",
        headers={"Content-Disposition": 'attachment; filename="doorstep-export.zip"'},
    )
