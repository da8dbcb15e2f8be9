"""HTTP API of the accounts area under ``/api/v1/accounts`` (thin: parse, call, shape).

Errors are RFC 9457 problems raised by the services.  Steps that count failed
attempts (sign-in, codes, password checks) run in an ``attempt_session``, which
commits the count before answering with the error.  The client address is
passed to the rate limiter only (it keeps a keyed hash), never logged or stored.

One module per concept, each with its own ``router``, mounted here in this order:
:mod:`.signup`, :mod:`.sessions`, :mod:`.account`, :mod:`.passwords`,
:mod:`.deregistration`, :mod:`.profile`, :mod:`.guardians`, :mod:`.thirdparty`,
:mod:`.consents` (the app's consents, decision 0032; bodies in :mod:`.consent_schemas`),
:mod:`.transfers` (transfer consents, decision 0035; bodies in :mod:`.transfer_schemas`);
request and response bodies are in :mod:`.schemas`.

May import every accounts package and the other areas' public surfaces; nothing
in the accounts area imports this package.
"""

from __future__ import annotations

from fastapi import APIRouter

from doorstep.accounts.api import (
    account,
    consents,
    deregistration,
    guardians,
    passwords,
    profile,
    sessions,
    signup,
    thirdparty,
    transfers,
)
from doorstep.core.problems import problem_responses

router = APIRouter(
    prefix="/api/v1/accounts",
    tags=["accounts"],
    # Wrong password or code, not allowed, no such thing, state, attempt limits.
    responses=problem_responses(401, 403, 404, 409, 429),
)
for _concept in (
    signup,
    sessions,
    account,
    passwords,
    deregistration,
    profile,
    guardians,
    thirdparty,
    consents,
    transfers,
):
    router.include_router(_concept.router)
