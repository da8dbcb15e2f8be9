"""The FastAPI dependency that says which staff member is signed in to the console.

    from doorstep.staff.auth import CurrentStaff

    @router.get("/api/v1/console/requests")
    def queue(staff: CurrentStaff, session: SessionDep) -> ...:
        require_action(session, staff.id, StaffAction.VIEW_REQUESTS)

It reads ``Authorization: Bearer dss_…`` (API clients) or the console's
session cookie (:data:`COOKIE`, the web pages), finds a live session of an
active staff member in a short transaction of its own, and answers 401 with
``WWW-Authenticate: Bearer`` otherwise.  Subscriber tokens are never staff
tokens (their prefixes differ, and they live in another table).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, HTTPException, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from doorstep.services import ServicesDep
from doorstep.staff.services import Staff
from doorstep.staff.signin import resolve

#: The console's session cookie (HttpOnly, SameSite=Strict, Secure over TLS).
COOKIE = "doorstep_console"

bearer_scheme = HTTPBearer(
    auto_error=False,
    scheme_name="StaffSession",
    description="A console session token from POST /api/v1/console/sessions.",
)


def token_of(request: Request, credentials: HTTPAuthorizationCredentials | None) -> str | None:
    """The staff session token of a request: the bearer token, else the cookie."""
    if credentials is not None and credentials.scheme.lower() == "bearer":
        return credentials.credentials
    return request.cookies.get(COOKIE)


def current_staff(
    request: Request,
    services: ServicesDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer_scheme)],
) -> Staff:
    """FastAPI dependency: the signed-in staff member, or 401."""
    token = token_of(request, credentials)
    staff = None
    if token:
        with services.runtime.sessions() as session:
            staff = resolve(session, token, now=services.runtime.clock.now())
    if staff is None:
        raise HTTPException(
            status_code=401, headers={"WWW-Authenticate": 'Bearer realm="doorstep-console"'}
        )
    return staff


CurrentStaff = Annotated[Staff, Depends(current_staff)]
