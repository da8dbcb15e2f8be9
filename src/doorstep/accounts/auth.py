"""The FastAPI dependency every area uses to know who is signed in.

    from doorstep.accounts.auth import CurrentSubscriber

    @router.get("/api/v1/devices")
    def list_devices(subscriber: CurrentSubscriber, session: SessionDep) -> ...:
        ...  # subscriber.subject_id, subscriber.session_id

It reads ``Authorization: Bearer <token>``, finds a live session of an active,
unlocked account (one indexed read in a short transaction of its own, closed
before the handler runs, so it never nests in or outlives the handler's), and
answers 401 with ``WWW-Authenticate: Bearer`` (a problem document) for a
missing, malformed, expired or revoked token.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, HTTPException
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from doorstep.accounts.sessions import tokens
from doorstep.services import ServicesDep

_bearer = HTTPBearer(
    auto_error=False,
    scheme_name="SessionToken",
    description="The access token from POST /api/v1/accounts/sessions.",
)


@dataclass(frozen=True, slots=True)
class Subscriber:
    """The signed-in subscriber: their subject (= account) id and the session's id."""

    subject_id: uuid.UUID
    session_id: uuid.UUID


def _unauthorized() -> HTTPException:
    return HTTPException(status_code=401, headers={"WWW-Authenticate": 'Bearer realm="doorstep"'})


def current_subscriber(
    services: ServicesDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Subscriber:
    """FastAPI dependency: the subscriber of the request's bearer token, or 401."""
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise _unauthorized()
    with services.runtime.sessions() as session:
        found = tokens.resolve(session, credentials.credentials, now=services.runtime.clock.now())
    if found is None:
        raise _unauthorized()
    return Subscriber(subject_id=found.account_id, session_id=found.session_id)


CurrentSubscriber = Annotated[Subscriber, Depends(current_subscriber)]
