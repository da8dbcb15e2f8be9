"""The endpoint EMQX's webhook calls when a device connects or disconnects (decision 0027).

EMQX 5 tells Doorstep of connections through a rule on its event topics posted by an
HTTP action (docs/devices.md, "Presence")::

    SELECT * FROM "$events/client_connected", "$events/client_disconnected"

with ``POST /api/v1/broker/events``, ``Authorization: Bearer <broker_http_token>`` and
the rule's output as the body (EMQX's default), of which Doorstep reads ``event``
(``client.connected`` or ``client.disconnected``), ``username``, ``reason`` and the
times in milliseconds (``connected_at``, ``disconnected_at``, else ``timestamp``).

* The device is the **user name**, which Doorstep's own authentication (:mod:`.emqx`)
  proved is that endpoint id; the client id is the client's choice and is not
  believed.  A user name that is not an endpoint id (the controller's account) is
  ``ignored``; an endpoint id the inventory does not hold is ``ignored`` and audited
  as a refused endpoint, as an unknown last will is.
* ``client.disconnected`` takes the last will's path
  (:meth:`~doorstep.usp.controller.Controller.last_will`): this process fails its
  pending requests to the device and the hooks mark it offline (last contact = now);
  every process then refuses requests to it at once.  Reasons ``takenover`` and
  ``discarded`` are ``ignored``: the same client connected again and ended its old
  session, so the device is still there.
* ``client.connected`` takes the path of any Record (``on_agent_traffic``): online,
  ``last_seen`` now.
* An event older than the device's last contact is ``stale`` and changes nothing:
  EMQX posts events concurrently, so a disconnection may arrive after the Connect
  Record of the reconnection that followed it.

The answer is 200 ``{"result": "offline" | "online" | "ignored" | "stale"}`` once the
registry holds the change.  Without the token the endpoint answers 404, with a wrong
one 401; a malformed event is a 422 problem; none of them changes anything.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Literal

import sqlalchemy as sa
from fastapi import APIRouter, Header, Request
from pydantic import BaseModel, Field

from doorstep.core.runtime import Runtime
from doorstep.devices.broker._token import broker_runtime
from doorstep.devices.models import DeviceRegistration
from doorstep.devices.mount import state_of
from doorstep.usp.controller import Controller, Origin, Verdict
from doorstep.usp.credentials import CredentialStore
from doorstep.usp.endpoint import is_valid_endpoint_id

router = APIRouter(prefix="/api/v1/broker", include_in_schema=False)

REPLACED = frozenset({"takenover", "discarded"})
"""Disconnect reasons that mean the same client connected again (the device is there)."""
ORIGIN_MTP = "emqx-webhook"
"""The channel named in the audit of a refused endpoint."""

Outcome = Literal["offline", "online", "ignored", "stale"]


class BrokerEvent(BaseModel):
    """The fields Doorstep reads of an EMQX client event (others are ignored)."""

    event: Literal["client.connected", "client.disconnected"]
    clientid: str = Field(default="", max_length=256)
    username: str = Field(default="", max_length=256)
    reason: str = Field(default="", max_length=128)
    connected_at: int | None = Field(default=None, ge=0)
    disconnected_at: int | None = Field(default=None, ge=0)
    timestamp: int | None = Field(default=None, ge=0)

    def happened_at(self) -> datetime | None:
        """When the broker saw it (UTC), or None when the event carries no time."""
        own = self.connected_at if self.event == "client.connected" else self.disconnected_at
        millis = own if own is not None else self.timestamp
        return None if millis is None else datetime.fromtimestamp(millis / 1000, tz=UTC)


class EventOutcome(BaseModel):
    """What Doorstep made of the event."""

    result: Outcome


def _last_contact(runtime: Runtime, endpoint_id: str) -> datetime | None:
    table = DeviceRegistration
    query = sa.select(table.last_seen).where(table.endpoint_id == endpoint_id)
    with runtime.sessions() as session:
        return session.execute(query).scalar_one_or_none()


async def _stale(runtime: Runtime, body: BrokerEvent) -> bool:
    at = body.happened_at()
    if at is None:
        return False
    last = await asyncio.to_thread(_last_contact, runtime, body.username)
    return last is not None and at < last


@router.post("/events", response_model=EventOutcome)
async def broker_event(
    body: BrokerEvent, request: Request, authorization: str | None = Header(default=None)
) -> EventOutcome:
    """EMQX's webhook of client events (see the module docstring)."""
    runtime = broker_runtime(request, authorization)
    if not is_valid_endpoint_id(body.username):
        return EventOutcome(result="ignored")
    if body.event == "client.disconnected" and body.reason in REPLACED:
        return EventOutcome(result="ignored")
    hub = state_of(request.app).hub
    if body.event == "client.disconnected":
        result = await _gone(runtime, hub.controller, body)
    else:
        result = await _back(runtime, hub.controller, hub.credentials, body)
    return EventOutcome(result=result)


async def _gone(runtime: Runtime, controller: Controller, body: BrokerEvent) -> Outcome:
    """The last will's path: pending requests fail, the registry marks it offline."""
    endpoint_id = body.username
    if await _stale(runtime, body):
        return "stale"
    verdict = await controller.last_will(endpoint_id, Origin(ORIGIN_MTP, endpoint_id))
    if verdict is not Verdict.ACCEPTED:  # unknown: refused and audited
        return "ignored"
    await controller.departure(endpoint_id)
    return "offline"


async def _back(
    runtime: Runtime, controller: Controller, credentials: CredentialStore, body: BrokerEvent
) -> Outcome:
    """The path of any Record: online, ``last_seen`` now."""
    endpoint_id = body.username
    if await credentials.lookup(endpoint_id) is None:
        origin = Origin(ORIGIN_MTP, endpoint_id)
        controller.refuse("unknown_endpoint", endpoint_id, origin, None, Verdict.DROPPED)
        return "ignored"
    if await _stale(runtime, body):
        return "stale"
    await controller.departure(endpoint_id)  # a departure under way reaches the registry first
    await controller.hooks.on_agent_traffic(endpoint_id)
    return "online"
