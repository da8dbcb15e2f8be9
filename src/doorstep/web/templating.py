"""Server-rendered pages: one Jinja2 environment per language, and :func:`render`.

Templates live in ``web/templates`` (``center/`` for the privacy center,
``console/`` for the operator console); they autoescape, and every string a
person reads is marked for translation.  :func:`render` gives each template the
page context: who is signed in, the CSRF token of its forms, the cookie
banner's state, the language and the page's own URL (``here``).
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

import jinja2
from fastapi import Request
from fastapi.responses import HTMLResponse

from doorstep import __version__
from doorstep.web import cookies, csrf
from doorstep.web.i18n import negotiate, translations

TEMPLATES = Path(__file__).resolve().parent / "templates"
#: What a page says after a change redirected to it (``?done=<code>``); page modules
#: add their own codes at import.  Codes only travel in URLs, never data.
DONE: dict[str, str] = {}


@cache
def environment(language: str) -> jinja2.Environment:
    """The template environment of ``language`` (built once per language)."""
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES),
        autoescape=jinja2.select_autoescape(["html"]),
        extensions=["jinja2.ext.i18n"],
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.install_gettext_translations(translations(language), newstyle=True)  # type: ignore[attr-defined]
    env.globals["version"] = __version__
    return env


def language_of(request: Request) -> str:
    """The page language: a test override, the consented preference, else Accept-Language."""
    override = getattr(request.app.state, "web_language", None)
    if isinstance(override, str):
        return override
    return negotiate(request.headers.get("accept-language"), cookies.preferred_language(request))


def here(request: Request) -> str:
    """The page's own local URL, query included: where a form that only changes a
    setting (the cookie banner's) sends the browser back (``safe_next`` checks it)."""
    query = request.url.query
    return request.url.path + (f"?{query}" if query else "")


def _policy_notices(request: Request) -> list[Any]:
    """Policy versions waiting for the signed-in subscriber's answer: every page shows them
    until they answer (CPE-VII.3); none for visitors and staff."""
    subscriber = getattr(request.state, "subscriber", None)
    services = getattr(request.app.state, "services", None)
    if subscriber is None or services is None:
        return []
    from doorstep.privacy.changes.notices import open_notices

    with services.runtime.sessions.begin() as session:
        return list(open_notices(session, services, subscriber.subject_id))


def render(
    request: Request, template: str, *, status_code: int = 200, **context: Any
) -> HTMLResponse:
    """Render ``template`` with the page context; the response carries the page's cookies."""
    language = language_of(request)
    state = cookies.banner_state(request)
    if "policy_notices" not in context:
        context["policy_notices"] = _policy_notices(request)
    page = {
        "request": request,
        "language": language,
        "csrf_token": csrf.token_for(request),
        "cookie_banner": state,
        "theme": cookies.theme(request),
        "subscriber": getattr(request.state, "subscriber", None),
        "staff": getattr(request.state, "staff", None),
        "done": DONE.get(request.query_params.get("done", "")),
        "here": here(request),
        **context,
    }
    html = environment(language).get_template(template).render(page)
    return HTMLResponse(html, status_code=status_code)
