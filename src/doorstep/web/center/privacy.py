"""The privacy center's "My privacy" pages, and requests without signing in.

``GET /privacy`` is the overview: the sections below and the subscriber's
rights in a few words.  The sections live in modules of their own, whose routers
this one includes (``mount.PAGE_MODULES`` names this module only):

* :mod:`.consents` — ``/privacy/consents…``: optional functions,
  consent decisions and their signed receipts; its section on messages carried
  abroad posts to :mod:`.transfers` (``/privacy/transfers/…``);
* :mod:`.my_data` — ``/privacy/data…``: download my data (access,
  portability);
* :mod:`.my_requests` — ``/privacy/requests…``: my requests; correction,
  deletion, restriction and objection;
* :mod:`.public_requests` — ``/requests/…``: the public form, its code, and the
  public status page of a request.

Every page calls the same services as the REST API; forms carry the CSRF
token, post back, and redirect (303) with a ``done`` code on success; bad input
re-renders the form with a message per field and changes nothing.  Words are
marked for translation; URLs carry ids and ``done`` codes, never personal data.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from doorstep.web.center import consents, my_data, my_requests, public_requests, transfers
from doorstep.web.session import PageSubscriber
from doorstep.web.templating import render

router = APIRouter(include_in_schema=False)


@router.get("/privacy", response_class=HTMLResponse)
def overview(request: Request, subscriber: PageSubscriber) -> HTMLResponse:
    """The overview of the subscriber's privacy: where to go, and their rights."""
    return render(request, "center/privacy.html")


router.include_router(consents.router)
router.include_router(transfers.router)
router.include_router(my_data.router)
router.include_router(my_requests.router)
router.include_router(public_requests.router)
