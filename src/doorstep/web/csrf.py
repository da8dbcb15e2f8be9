"""Cross-site request forgery protection for every form of the pages.

Two checks, both needed for a POST to reach a handler (:func:`checked_form`):

1. **Same origin.**  Browsers say where a request comes from
   (``Sec-Fetch-Site``, ``Origin``); a cross-site POST is refused.
2. **A token in the form**, bound to the browser's session: an HMAC of the
   session cookie under a key derived from the deployment secret.  Before
   sign-in (the sign-in and sign-up forms) the token is bound to the hour
   instead, and such forms accept nothing else; once a session cookie exists
   only its own token passes.

The session cookies themselves are ``SameSite=Lax`` (subscribers) and
``Strict`` (console), a third layer.  A refused form changes nothing and is
answered with 403 and a page that says to reload and try again.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from urllib.parse import urlsplit

from fastapi import Request
from starlette.datastructures import FormData

from doorstep.core.errors import PermissionDeniedError
from doorstep.web.numbers import whole_number

FIELD = "csrf_token"
HEADER = "x-csrf-token"
SESSION_COOKIES = ("doorstep_session", "doorstep_console")
_HOUR = 3600


class CsrfError(PermissionDeniedError):
    """The form did not come from this site's own page (or the page is too old)."""

    code = "csrf-refused"
    title = "The form could not be accepted"


def _key(request: Request) -> bytes:
    secret = request.app.state.runtime.settings.secret_key.get_secret_value().encode("utf-8")
    return hmac.new(secret, b"doorstep.web.csrf", hashlib.sha256).digest()


def _session_material(request: Request, *, after: bool = False) -> bytes | None:
    """What a token is bound to: the session cookies the browser sent, or (``after``) the
    ones it will hold after this response, where
    :class:`~doorstep.web.session.PageSessionMiddleware` rotates or drops one.  A form
    is checked against the cookies it was sent with; a page's new forms get tokens for
    the cookies the browser will send next."""
    held = (getattr(request.state, "session_cookies", None) if after else None) or request.cookies
    values = [held.get(name) or "" for name in SESSION_COOKIES]
    if not any(values):
        return None
    return hashlib.sha256("|".join(values).encode("utf-8")).digest()


def _sign(request: Request, material: bytes) -> str:
    return hmac.new(_key(request), material, hashlib.sha256).hexdigest()


def token_for(request: Request) -> str:
    """The token the page's forms carry (session-bound, or hour-bound before sign-in)."""
    material = _session_material(request, after=True)
    if material is not None:
        return "s." + _sign(request, b"s:" + material)
    bucket = int(time.time()) // _HOUR
    return f"a.{bucket}." + _sign(request, f"a:{bucket}".encode())


def _same_origin(request: Request) -> bool:
    """What the browser says of the request's origin; silence leaves it to the token.

    ``Sec-Fetch-Site`` is set by the browser and cannot be forged by a page; where a
    browser does not send it, ``Origin`` must name this host.
    """
    site = request.headers.get("sec-fetch-site")
    if site is not None:
        return site in ("same-origin", "none")
    origin = request.headers.get("origin")
    return origin is None or urlsplit(origin).netloc == request.headers.get("host", "")


def valid(request: Request, token: str) -> bool:
    """Whether ``token`` is this browser's current token (see the module docstring)."""
    material = _session_material(request)
    if material is not None:
        return hmac.compare_digest(token, "s." + _sign(request, b"s:" + material))
    kind, _, rest = token.partition(".")
    bucket_text, _, signature = rest.partition(".")
    now = int(time.time()) // _HOUR
    bucket = whole_number(bucket_text, minimum=max(now - 1, 0), maximum=now)
    if kind != "a" or bucket is None:
        return False
    return hmac.compare_digest(signature, _sign(request, f"a:{bucket}".encode()))


async def checked_form(request: Request) -> FormData:
    """FastAPI dependency: the POSTed form, after both checks; :class:`CsrfError` otherwise."""
    form = await request.form()
    token = form.get(FIELD) or request.headers.get(HEADER) or ""
    if not _same_origin(request) or not isinstance(token, str) or not valid(request, token):
        raise CsrfError("reload the page and try again")
    return form
