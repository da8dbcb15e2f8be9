"""Staff sign-in and sign-out of the operator console (decision 0015).

* ``GET /console/sign-in?token=…`` shows one button, "Sign in to the console".
  Opening the link spends nothing: mail scanners and link previews fetch it.
  Without a token the page says how staff get a link (an administrator runs
  ``doorstep staff sign-in-link STAFF_ID``).
* ``POST /console/sign-in`` redeems the link (:func:`doorstep.staff.signin.redeem_link`)
  and sets the ``doorstep_console`` cookie (HttpOnly, SameSite=Strict, no
  max-age: it ends with the browser session; the server ends it after
  ``staff_session_hours``), then goes to ``next`` (a local path only) or the
  request queue.  A used, expired or unknown link re-renders the page with
  one message (422) and sets nothing.
* ``POST /console/sign-out`` ends the session, forgets the cookie and goes
  back to the sign-in page with ``?done=console_signed_out``.

The link's token travels in the URL only as far as this page (the access log
names the route, never the query; no page here loads anything from elsewhere),
and it is never logged or audited: the staff service records the staff id.
"""

from __future__ import annotations

from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from doorstep.staff.signin import ConsoleSession, redeem_link, sign_out
from doorstep.web.console.staff_work import Form, text
from doorstep.web.cookies import set_cookie
from doorstep.web.i18n import _
from doorstep.web.session import STAFF_COOKIE, SUBSCRIBER_COOKIE, safe_next
from doorstep.web.templating import DONE, render
from doorstep.web.work import attempt, services_of

router = APIRouter(include_in_schema=False)
HOME = "/console/requests"
SIGN_IN = "/console/sign-in"
DONE.update({"console_signed_out": _("You are signed out of the console.")})

SPENT = _(
    "This sign-in link cannot be used: it was used already, it expired (links last "
    "15 minutes) or it is not a link of this console. Ask an administrator for a new one."
)


def _stale_cookie(request: Request) -> bool:
    """Whether the browser sent a session cookie the page middleware is about to drop.

    The form's CSRF token is bound to the cookies the browser sent; when one of
    them is dead (an expired console session, say) the middleware deletes it
    with this response, and the token would no longer match on the POST.
    """
    staff = getattr(request.state, "staff", None)
    subscriber = getattr(request.state, "subscriber", None)
    stale_staff = bool(request.cookies.get(STAFF_COOKIE)) and staff is None
    stale_subscriber = bool(request.cookies.get(SUBSCRIBER_COOKIE)) and subscriber is None
    return stale_staff or stale_subscriber


@router.get("/console/sign-in", response_class=HTMLResponse)
def sign_in_page(request: Request, token: str = "", next: str = "") -> Response:
    """The sign-in page: one button for a link's token, else how to get a link."""
    if _stale_cookie(request):
        # Come back without the dead cookie (this response deletes it), so the form's
        # token is bound to what the browser will send with the POST.
        query = urlencode(
            {key: value for key, value in (("token", token), ("next", next)) if value}
        )
        return RedirectResponse(SIGN_IN + (f"?{query}" if query else ""), status_code=303)
    return render(
        request,
        "console/sign_in.html",
        token=token,
        next=safe_next(next, HOME),
        error=None,
        hours=services_of(request).runtime.settings.staff_session_hours,
    )


@router.post("/console/sign-in", response_class=HTMLResponse)
def sign_in(request: Request, form: Form) -> Response:
    """Redeem the link; on success set the console cookie and go on."""
    token, target = text(form, "token"), safe_next(text(form, "next"), HOME)
    runtime = services_of(request).runtime
    previous = request.cookies.get(STAFF_COOKIE)

    def work(session: Session) -> ConsoleSession:
        if previous:  # a new link replaces the session this browser had
            sign_out(session, previous, clock=runtime.clock)
        return redeem_link(
            session, token, clock=runtime.clock, session_hours=runtime.settings.staff_session_hours
        )

    outcome = attempt(request, work)
    if outcome.value is None:
        status = outcome.error.status if outcome.error is not None else 422
        return render(
            request,
            "console/sign_in.html",
            status_code=status,
            token="",
            next=target,
            error=SPENT,
            hours=runtime.settings.staff_session_hours,
        )
    response = RedirectResponse(target, status_code=303)
    set_cookie(response, request, STAFF_COOKIE, outcome.value.token, same_site="strict")
    return response


@router.post("/console/sign-out")
def sign_out_page(request: Request, form: Form) -> Response:
    """End the console session (its token stops working) and forget the cookie."""
    token = request.cookies.get(STAFF_COOKIE)
    if token:
        clock = services_of(request).runtime.clock
        attempt(request, lambda session: sign_out(session, token, clock=clock))
    response = RedirectResponse(f"{SIGN_IN}?done=console_signed_out", status_code=303)
    response.delete_cookie(STAFF_COOKIE, path="/")
    return response
