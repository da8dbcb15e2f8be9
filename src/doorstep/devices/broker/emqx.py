"""The endpoints EMQX asks: HTTP authentication and authorization of device accounts.

Configure EMQX's HTTP authenticator with ``POST /api/v1/broker/authenticate`` and
its HTTP authorizer with ``POST /api/v1/broker/authorize`` (docs/devices.md, "Broker
accounts"), each sending ``Authorization: Bearer <broker_http_token>`` and a JSON
body with ``${username}``, ``${password}``, ``${topic}`` and ``${action}``.  Both
answer 200 with EMQX's ``{"result": "allow" | "deny" | "ignore"}``:

* a user name that is not an endpoint id (the controller's account, an
  administrator's) is ``ignore``: EMQX asks its next authenticator or authorizer;
* a device signs in with its endpoint id and transport secret, checked against the
  inventory's scrypt hash like a WebSocket upgrade; unknown or wrong is ``deny``;
* a device may publish and subscribe only to decision 0009's topics carrying its own
  endpoint id (:mod:`.acl`); anything else is ``deny``.

Without ``broker_http_token`` the endpoints answer 404; a wrong token is a 401
problem (:mod:`._token`).  They are not part of the app's API description.
"""

from __future__ import annotations

import asyncio
from typing import Literal

from fastapi import APIRouter, Header, Request
from pydantic import BaseModel, Field

from doorstep.devices.broker._token import broker_runtime
from doorstep.devices.broker.acl import Action, allowed
from doorstep.devices.credentials import DatabaseCredentialStore
from doorstep.usp.config import load_usp_config
from doorstep.usp.endpoint import is_valid_endpoint_id

router = APIRouter(prefix="/api/v1/broker", include_in_schema=False)

Result = Literal["allow", "deny", "ignore"]


class Authentication(BaseModel):
    """What EMQX sends to authenticate a client."""

    username: str = Field(default="", max_length=256)
    password: str = Field(default="", max_length=1024, repr=False)
    clientid: str = Field(default="", max_length=256)


class Authorization(BaseModel):
    """What EMQX sends to authorize a publish or subscribe."""

    username: str = Field(default="", max_length=256)
    topic: str = Field(max_length=1024)
    action: Literal["publish", "subscribe", "all"]


class Verdict(BaseModel):
    """EMQX's expected answer."""

    result: Result
    is_superuser: bool = False


@router.post("/authenticate", response_model=Verdict)
async def authenticate(
    body: Authentication, request: Request, authorization: str | None = Header(default=None)
) -> Verdict:
    """EMQX HTTP authentication of a device account (see the module docstring)."""
    runtime = broker_runtime(request, authorization)
    if not is_valid_endpoint_id(body.username):
        return Verdict(result="ignore")
    verifier = await DatabaseCredentialStore(runtime).lookup(body.username)
    if verifier is None or not body.password:
        return Verdict(result="deny")
    ok = await asyncio.to_thread(verifier.verify, body.password)
    return Verdict(result="allow" if ok else "deny")


@router.post("/authorize", response_model=Verdict)
async def authorize(
    body: Authorization, request: Request, authorization: str | None = Header(default=None)
) -> Verdict:
    """EMQX HTTP authorization of a device's publish or subscribe."""
    runtime = broker_runtime(request, authorization)
    if not is_valid_endpoint_id(body.username):
        return Verdict(result="ignore")
    config = load_usp_config(runtime.settings)
    actions: tuple[Action, ...] = (
        ("publish", "subscribe") if body.action == "all" else (body.action,)
    )
    ok = all(allowed(config, body.username, action, body.topic) for action in actions)
    return Verdict(result="allow" if ok else "deny")
