"""Which cookies the pages may set, and when (CPE-II, CORP-2.x).

* **Essential** — set without asking: the session cookie of a signed-in
  subscriber (``doorstep_session``) or staff member (``doorstep_console``),
  and, once the visitor has answered the banner, the record of that answer
  (``doorstep_cookies``), so they are not asked on every page.
* **Preferences** — the theme and the language the visitor chose
  (``doorstep_theme``, ``doorstep_lang``): written only after the visitor
  allowed preference cookies in the banner, never while the browser sends
  ``DNT: 1`` or ``Sec-GPC: 1`` (both read as a refusal, which no banner click
  overrides), and deleted when consent is refused or withdrawn.

Nothing else: no third-party resources, trackers or beacons exist on the
pages.  Every cookie is ``HttpOnly``, ``SameSite`` and ``Secure`` when the page
is served over TLS.
"""

from __future__ import annotations

from fastapi import Request
from starlette.responses import Response

CHOICE = "doorstep_cookies"
THEME = "doorstep_theme"
LANGUAGE = "doorstep_lang"
PREFERENCES = (THEME, LANGUAGE)
ACCEPTED = "preferences"
REFUSED = "essential"
THEMES = ("light", "dark")
_YEAR = 365 * 24 * 3600


def signals_refusal(request: Request) -> bool:
    """Whether the browser asks not to be tracked (``DNT: 1`` or ``Sec-GPC: 1``)."""
    return request.headers.get("dnt") == "1" or request.headers.get("sec-gpc") == "1"


def choice(request: Request) -> str | None:
    """The visitor's answer to the banner, if any."""
    value = request.cookies.get(CHOICE)
    return value if value in (ACCEPTED, REFUSED) else None


def preferences_allowed(request: Request) -> bool:
    """Whether preference cookies may be read and written for this request."""
    return not signals_refusal(request) and choice(request) == ACCEPTED


def banner_state(request: Request) -> str:
    """``signal`` (the browser refused), ``ask`` (no answer yet), or the answer given."""
    if signals_refusal(request):
        return "signal"
    return choice(request) or "ask"


def theme(request: Request) -> str:
    """The chosen theme when preferences are allowed, else ``light``."""
    value = request.cookies.get(THEME) if preferences_allowed(request) else None
    return value if value in THEMES else "light"


def preferred_language(request: Request) -> str | None:
    """The chosen language when preferences are allowed."""
    return request.cookies.get(LANGUAGE) if preferences_allowed(request) else None


def secure(request: Request) -> bool:
    """Whether the page was served over TLS (cookies are then ``Secure``)."""
    return request.url.scheme == "https"


def set_cookie(
    response: Response,
    request: Request,
    name: str,
    value: str,
    *,
    max_age: int | None = None,
    same_site: str = "lax",
) -> None:
    """Set a cookie with the attributes every Doorstep cookie has."""
    response.set_cookie(
        name,
        value,
        max_age=max_age,
        path="/",
        httponly=True,
        secure=secure(request),
        samesite=same_site,  # type: ignore[arg-type]
    )


def record_choice(response: Response, request: Request, accepted: bool) -> None:
    """Remember the banner answer; a refusal deletes any preference cookie."""
    set_cookie(response, request, CHOICE, ACCEPTED if accepted else REFUSED, max_age=_YEAR)
    if not accepted or signals_refusal(request):
        clear_preferences(response)


def set_preference(response: Response, request: Request, name: str, value: str) -> bool:
    """Write a preference cookie if allowed; False (nothing written) otherwise."""
    if name not in PREFERENCES or not preferences_allowed(request):
        return False
    set_cookie(response, request, name, value, max_age=_YEAR)
    return True


def clear_preferences(response: Response) -> None:
    """Delete every preference cookie."""
    for name in PREFERENCES:
        response.delete_cookie(name, path="/")
