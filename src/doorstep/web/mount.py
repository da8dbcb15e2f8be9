"""Mount the pages on the app: routers, static files, sessions, security headers, error pages.

:func:`install` is called by :func:`doorstep.asgi.create_app`.  Errors on page
paths become HTML pages (a signed-out browser is redirected to sign in);
errors on API paths stay RFC 9457 problems.

Every page response says: scripts, styles, images, fonts and connections from
this origin only (no third-party resources can load, so no trackers or
beacons), no framing, no referrer to other sites, and the camera only for this origin (the QR
scan on the bind page).
"""

from __future__ import annotations

import importlib
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.middleware.base import BaseHTTPMiddleware, RequestResponseEndpoint

from doorstep.core.errors import DoorstepError
from doorstep.web.i18n import _
from doorstep.web.session import NOT_PAGES, PageSessionMiddleware, SignInRequired

STATIC = Path(__file__).resolve().parent / "static"
#: Modules whose ``router`` serves pages, in order (a missing module is skipped).
PAGE_MODULES = (
    "doorstep.web.center.home",
    "doorstep.web.center.account",
    "doorstep.web.center.policy_pages",
    "doorstep.web.center.language",
    "doorstep.web.center.devices",
    "doorstep.web.center.privacy",
    "doorstep.web.center.questions",
    "doorstep.web.center.security",
    "doorstep.web.console.requests",
    "doorstep.web.console.inquiries",
    "doorstep.web.console.records",
    "doorstep.web.console.holds",
    "doorstep.web.console.completions",
    "doorstep.web.console.withdrawals",
    "doorstep.web.console.incidents",
    "doorstep.web.console.controls",
    "doorstep.web.console.drift",
    "doorstep.web.console.fleet",
    "doorstep.web.console.bulk",
    "doorstep.web.console.rollouts",
    "doorstep.web.console.firmware",
    "doorstep.web.console.diagnostics",
    "doorstep.web.console.wipes",
)
POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; "
    "form-action 'self'; frame-ancestors 'none'"
)
HEADERS = {
    "content-security-policy": POLICY,
    # same-origin, not no-referrer: with no-referrer browsers send "Origin: null" on
    # their own form posts, and the origin check needs the real one.
    "referrer-policy": "same-origin",
    "x-content-type-options": "nosniff",
    "x-frame-options": "DENY",
    "permissions-policy": "camera=(self), geolocation=(), microphone=(), interest-cohort=()",
    "cache-control": "no-store",
}


class SecurityHeadersMiddleware(BaseHTTPMiddleware):
    """Add the page security headers (see the module docstring) to page responses."""

    async def dispatch(self, request: Request, call_next: RequestResponseEndpoint) -> Response:
        """Pass the request on; add the headers to the response of a page."""
        response = await call_next(request)
        if not request.url.path.startswith(NOT_PAGES) or request.url.path.startswith("/static/"):
            for name, value in HEADERS.items():
                if name == "cache-control" and request.url.path.startswith("/static/"):
                    continue
                response.headers.setdefault(name, value)
        return response


def is_page(request: Request) -> bool:
    """Whether an error should be answered with a page: a browser (it accepts HTML, or it is
    htmx) asking for something outside the API and the other machine endpoints.  Every
    other client gets the RFC 9457 problem document, on any path."""
    if request.url.path.startswith(NOT_PAGES):
        return False
    accept = request.headers.get("accept", "")
    return "text/html" in accept or request.headers.get("hx-request") == "true"


def _error_page(request: Request, status: int, message: str) -> Response:
    from doorstep.web.templating import render

    template = "console/error.html" if request.url.path.startswith("/console") else "error.html"
    return render(request, template, status_code=status, status=status, message=message)


_MESSAGES = {
    401: _("Please sign in to see this page."),
    403: _("This action is not allowed, or the page was too old: reload it and try again."),
    404: _("There is no such page."),
    405: _("This page cannot be used that way."),
    409: _("This cannot be done now."),
    422: _("Some of what you sent is not valid."),
    429: _("Too many attempts: please wait a little and try again."),
}


def _install_error_pages(app: FastAPI) -> None:
    """Wrap the problem handlers: pages get HTML, the API keeps problem documents."""
    handlers = dict(app.exception_handlers)

    def wrap(kind: type[Exception]) -> None:
        api_handler = handlers[kind]

        async def handle(request: Request, exc: Exception) -> Response:
            if isinstance(exc, SignInRequired):
                # A redirect for every client of a page path (curl included), never a
                # 303 problem without a Location.
                location = str(exc.fields["location"])
                if request.headers.get("hx-request") == "true":
                    # htmx would swap the sign-in page into a fragment: send the browser there.
                    return Response(status_code=204, headers={"HX-Redirect": location})
                return RedirectResponse(location, status_code=303)
            if not is_page(request):
                return await api_handler(request, exc)  # type: ignore[no-any-return]
            status = 422 if isinstance(exc, RequestValidationError) else 500
            if isinstance(exc, DoorstepError):
                status = exc.status
            elif isinstance(exc, StarletteHTTPException):
                status = exc.status_code
            message = _MESSAGES.get(status, _("Something went wrong. Please try again."))
            return _error_page(request, status, message)

        app.add_exception_handler(kind, handle)

    for kind in (DoorstepError, RequestValidationError, StarletteHTTPException):
        wrap(kind)


def install(app: FastAPI) -> None:
    """Mount every page module, the static files and the page middleware on ``app``."""
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    for name in PAGE_MODULES:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name != name:
                raise
            continue
        app.include_router(module.router)
    app.add_middleware(PageSessionMiddleware)
    app.add_middleware(SecurityHeadersMiddleware)
    _install_error_pages(app)
