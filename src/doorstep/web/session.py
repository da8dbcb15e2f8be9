"""Who is signed in to the pages: the subscriber's and the staff member's session cookies.

A subscriber signs in with the accounts area's password sign-in; the browser
keeps the access and refresh tokens in one essential cookie
(``doorstep_session``, HttpOnly, SameSite=Lax, for the browser session only).
When the access token has expired, :class:`PageSessionMiddleware` rotates it
with the refresh token (the accounts area's rotation, so a copied cookie used
twice ends the whole family) and sets the new cookie.  Staff sign in with a
one-time link (decision 0015) and keep the console session in
``doorstep_console`` (SameSite=Strict).

The middleware runs for page paths only (the API keeps its bearer tokens) and
puts the result in ``request.state.subscriber`` / ``request.state.staff``;
handlers require them with :data:`PageSubscriber` and :data:`PageStaff`, which
send a signed-out browser to the sign-in page.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Annotated
from urllib.parse import quote, urlsplit

from fastapi import Depends, Request
from starlette.concurrency import run_in_threadpool
from starlette.middleware.base import BaseHTTPMiddleware, RequestResponseEndpoint
from starlette.responses import Response

from doorstep.accounts.attempts import attempt_transaction
from doorstep.accounts.auth import Subscriber
from doorstep.accounts.context import AccountContext
from doorstep.accounts.sessions import tokens
from doorstep.core.errors import DoorstepError
from doorstep.staff.services import Staff
from doorstep.staff.signin import resolve as resolve_staff
from doorstep.web.cookies import set_cookie

SUBSCRIBER_COOKIE = "doorstep_session"
STAFF_COOKIE = "doorstep_console"
_SEPARATOR = "~"
#: Paths the page middleware leaves alone (the API, the USP endpoint, health, assets).
NOT_PAGES = ("/api/", "/usp", "/healthz", "/readyz", "/static/", "/docs", "/openapi.json")


class SignInRequired(DoorstepError):
    """A page needs a signed-in subscriber (or staff member); the browser is sent to sign in."""

    code = "sign-in-required"
    status = 303
    title = "Sign in first"

    def __init__(self, location: str) -> None:
        super().__init__("sign in first", location=location)


@dataclass(frozen=True, slots=True)
class _Found:
    subscriber: Subscriber | None
    staff: Staff | None
    rotated: str | None
    drop_subscriber: bool
    drop_staff: bool


def cookie_value(access_token: str, refresh_token: str) -> str:
    """The subscriber cookie's value for a token pair."""
    return f"{access_token}{_SEPARATOR}{refresh_token}"


def _resolve(request: Request) -> _Found:
    services = request.app.state.services
    runtime = services.runtime
    now = runtime.clock.now()
    subscriber = staff = rotated = None
    drop_subscriber = drop_staff = False
    raw = request.cookies.get(SUBSCRIBER_COOKIE)
    if raw:
        access, _, refresh = raw.partition(_SEPARATOR)
        with runtime.sessions() as session:
            found = tokens.resolve(session, access, now=now)
        if found is None and refresh:
            try:
                with attempt_transaction(runtime.sessions) as session:
                    issued = tokens.refresh(session, AccountContext.of(services), refresh)
                    found = tokens.resolve(session, issued.access_token, now=now)
                rotated = cookie_value(issued.access_token, issued.refresh_token)
            except DoorstepError:
                found = None
        if found is None:
            drop_subscriber = True
        else:
            subscriber = Subscriber(subject_id=found.account_id, session_id=found.session_id)
    console = request.cookies.get(STAFF_COOKIE)
    if console:
        with runtime.sessions() as session:
            staff = resolve_staff(session, console, now=now)
        drop_staff = staff is None
    return _Found(subscriber, staff, rotated, drop_subscriber and rotated is None, drop_staff)


class PageSessionMiddleware(BaseHTTPMiddleware):
    """Resolve the session cookies of page requests; rotate or drop them as needed."""

    async def dispatch(self, request: Request, call_next: RequestResponseEndpoint) -> Response:
        """Set ``request.state.subscriber``/``staff`` for pages; pass other paths through."""
        if request.url.path.startswith(NOT_PAGES):
            return await call_next(request)
        found = await run_in_threadpool(_resolve, request)
        request.state.subscriber = found.subscriber
        request.state.staff = found.staff
        # The cookies as the browser will hold them after this response: the page's
        # CSRF token must be bound to those, not to the ones being rotated or dropped.
        request.state.session_cookies = {
            SUBSCRIBER_COOKIE: None
            if found.drop_subscriber
            else found.rotated or request.cookies.get(SUBSCRIBER_COOKIE),
            STAFF_COOKIE: None if found.drop_staff else request.cookies.get(STAFF_COOKIE),
        }
        response = await call_next(request)
        if found.rotated is not None:
            set_cookie(response, request, SUBSCRIBER_COOKIE, found.rotated)
        if found.drop_subscriber:
            response.delete_cookie(SUBSCRIBER_COOKIE, path="/")
        if found.drop_staff:
            response.delete_cookie(STAFF_COOKIE, path="/")
        return response


def _sign_in_location(request: Request, page: str) -> str:
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return f"{page}?next={quote(target, safe='')}"


def page_subscriber(request: Request) -> Subscriber:
    """Dependency: the signed-in subscriber, or off to the sign-in page."""
    found = getattr(request.state, "subscriber", None)
    if not isinstance(found, Subscriber):
        raise SignInRequired(_sign_in_location(request, "/signin"))
    return found


def page_staff(request: Request) -> Staff:
    """Dependency: the signed-in staff member, or off to the console's sign-in page."""
    found = getattr(request.state, "staff", None)
    if not isinstance(found, Staff):
        raise SignInRequired(_sign_in_location(request, "/console/sign-in"))
    return found


PageSubscriber = Annotated[Subscriber, Depends(page_subscriber)]
PageStaff = Annotated[Staff, Depends(page_staff)]


def safe_next(target: str | None, default: str) -> str:
    """A local path (query included) to go back to after a form; ``default`` otherwise.

    Never another site: only ``/path?query`` of this one.  Refused: ``//host``,
    backslashes (``/\\host``), and any whitespace or control character, which
    browsers strip from a ``Location`` (``/\\t/host`` would become ``//host``).
    """
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return default
    if any(char.isspace() or not char.isprintable() for char in target):
        return default
    parts = urlsplit(target)
    if parts.scheme or parts.netloc:
        return default
    return target


def subject_of(request: Request) -> uuid.UUID | None:
    """The signed-in subscriber's id, if any (for templates and logs: an id only)."""
    found = getattr(request.state, "subscriber", None)
    return found.subject_id if isinstance(found, Subscriber) else None
