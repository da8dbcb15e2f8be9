"""The bearer token that admits the broker to the endpoints only it calls.

EMQX's HTTP authenticator and authorizer (:mod:`.emqx`) and its webhook of client
events (:mod:`.events`) show ``Authorization: Bearer <broker_http_token>``.  Without
the setting the endpoints do not exist (404); a missing or wrong token is a 401
problem, and the request changes nothing.
"""

from __future__ import annotations

import hmac

from fastapi import Request

from doorstep.core.errors import DoorstepError, NotFoundError
from doorstep.core.runtime import Runtime


class BrokerTokenError(NotFoundError):
    """No token configured: the endpoints do not exist."""


class BrokerUnauthorizedError(DoorstepError):
    """The caller did not show the broker token."""

    status = 401


def broker_runtime(request: Request, authorization: str | None) -> Runtime:
    """The app's runtime, once the caller showed the broker token."""
    runtime: Runtime = request.app.state.runtime
    token = runtime.settings.broker_http_token
    if token is None:
        raise BrokerTokenError("not found")
    presented = (authorization or "").removeprefix("Bearer ").strip()
    if not hmac.compare_digest(presented.encode(), token.get_secret_value().encode()):
        raise BrokerUnauthorizedError("the broker token is missing or wrong")
    return runtime
