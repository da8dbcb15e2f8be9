"""EMQX's webhook of client events over HTTP: a device's disconnection and connection
reach the registry through the last will's path, and nothing else changes it.

The app is the real one (``create_app``), its devices area installed as in ``serve``;
the events are EMQX 5's rule output for ``$events/client_connected`` and
``$events/client_disconnected``.
"""

from __future__ import annotations

import asyncio
import dataclasses
import math
import uuid
from datetime import timedelta
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from pydantic import SecretStr
from sqlalchemy.orm import Session

from doorstep.asgi import create_app
from doorstep.audit.models import AuditEvent
from doorstep.core.clock import FakeClock
from doorstep.core.runtime import Runtime
from doorstep.devices.mount import state_of
from doorstep.devices.registry import record_contact
from doorstep.usp.agent_sim import make_agents
from doorstep.usp.config import UspConfig
from doorstep.usp.controller import DeviceOfflineError, RuntimeAuditSink, endpoint_ref
from tests.devices.conftest import device_id_of, provision

TOKEN = "emqx-token-" + "y" * 32
EVENTS = "/api/v1/broker/events"
AUTH = {"Authorization": f"Bearer {TOKEN}"}


def _app(runtime: Runtime, token: str | None) -> Any:
    settings = runtime.settings.model_copy(
        update={"broker_http_token": SecretStr(token) if token else None}
    )
    return create_app(dataclasses.replace(runtime, settings=settings))


def _millis(clock: FakeClock) -> int:
    return math.ceil(clock.now().timestamp() * 1000)


def _event(kind: str, eid: str, clock: FakeClock, **extra: Any) -> dict[str, Any]:
    """What EMQX 5 posts for ``SELECT * FROM "$events/client_<kind>"``."""
    at = _millis(clock)
    body: dict[str, Any] = {
        "event": f"client.{kind}",
        "clientid": eid,
        "username": eid,
        "peername": "192.0.2.7:50312",
        "sockname": "0.0.0.0:8883",
        "proto_name": "MQTT",
        "proto_ver": 5,
        "timestamp": at,
        "node": "emqx@127.0.0.1",
        "metadata": {"rule_id": "doorstep-presence"},
    }
    if kind == "connected":
        body.update(connected_at=at, keepalive=60, clean_start=True, expiry_interval=0)
    else:
        body.update(disconnected_at=at, reason="tcp_closed", connected_at=at - 60_000)
    return body | extra


def _state(db: Session, device: uuid.UUID) -> tuple[Any, ...]:
    row = db.execute(
        sa.text(
            "SELECT online, last_seen, offline_since FROM device_registrations "
            "WHERE device_id = :id"
        ),
        {"id": device},
    ).one()
    return tuple(row)


def test_emqx_events_mark_a_device_offline_and_online(
    db: Session, runtime: Runtime, clock: FakeClock
) -> None:
    agent, stranger = make_agents(2, controller_id=UspConfig().controller_id)
    provision(db, runtime, [agent])
    eid = agent.endpoint_id
    device = device_id_of(db, runtime, agent)
    record_contact(db, device, endpoint_id=eid, address=None, now=clock.now())
    app = _app(runtime, TOKEN)

    async def scenario() -> None:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:

            async def post(body: dict[str, Any]) -> str:
                response = await client.post(EVENTS, json=body, headers=AUTH)
                assert response.status_code == 200, response.text
                return str(response.json()["result"])

            controller = state_of(app).hub.controller
            await controller.reachable(eid)  # online: requests may go
            clock.advance(timedelta(seconds=30))
            assert await post(_event("disconnected", eid, clock)) == "offline"
            offline_at = clock.now()
            assert _state(db, device) == (False, offline_at, offline_at)
            with pytest.raises(DeviceOfflineError):
                await controller.reachable(eid)  # a request fails at once

            clock.advance(timedelta(seconds=10))
            assert await post(_event("connected", eid, clock)) == "online"
            back_at = clock.now()
            assert _state(db, device) == (True, back_at, None)
            await controller.reachable(eid)

            # the same client connected again: its old session's end is no departure
            clock.advance(timedelta(seconds=10))
            replaced = _event("disconnected", eid, clock, reason="takenover")
            assert await post(replaced) == "ignored"
            # a departure older than the last contact arrived late: nothing changes
            late = _event("disconnected", eid, clock)
            late["disconnected_at"] = late["timestamp"] = _millis(clock) - 15_000
            assert await post(late) == "stale"
            assert _state(db, device) == (True, back_at, None)

            # not a device account, and a device the inventory does not hold
            assert await post(_event("disconnected", "doorstep-controller", clock)) == "ignored"
            audit = controller.audit
            assert isinstance(audit, RuntimeAuditSink)
            for kind in ("disconnected", "connected"):
                assert await post(_event(kind, stranger.endpoint_id, clock)) == "ignored"
                await audit.drain()  # its audit record is written (one connection in tests)

    asyncio.run(scenario())
    assert _state(db, device)[0] is True
    rows = db.execute(sa.select(AuditEvent.action, AuditEvent.details)).all()
    refusals = [details for action, details in rows if action == "usp.endpoint_refused"]
    key = runtime.settings.secret_key.get_secret_value().encode()
    assert [(r["reason"], r["endpoint"], r["mtp"]) for r in refusals] == [
        ("unknown_endpoint", endpoint_ref(stranger.endpoint_id, key), "emqx-webhook")
    ]
    unknown = db.execute(
        sa.text("SELECT count(*) FROM device_registrations WHERE endpoint_id = :e"),
        {"e": stranger.endpoint_id},
    ).scalar_one()
    assert unknown == 0


def test_bad_or_unauthenticated_events_are_refused_and_change_nothing(
    db: Session, runtime: Runtime, clock: FakeClock
) -> None:
    agent = make_agents(1, controller_id=UspConfig().controller_id)[0]
    provision(db, runtime, [agent])
    eid = agent.endpoint_id
    device = device_id_of(db, runtime, agent)
    record_contact(db, device, endpoint_id=eid, address=None, now=clock.now())
    before = _state(db, device)
    clock.advance(timedelta(seconds=30))
    gone = _event("disconnected", eid, clock)

    async def scenario() -> None:
        transport = httpx.ASGITransport(app=_app(runtime, TOKEN))
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            for headers in (
                {},
                {"Authorization": "Bearer not-the-token"},
                {"Authorization": TOKEN + "x"},
            ):
                refused = await client.post(EVENTS, json=gone, headers=headers)
                assert refused.status_code == 401
                assert refused.headers["content-type"].startswith("application/problem+json")
            for bad in (
                gone | {"event": "client.subscribed"},
                {k: v for k, v in gone.items() if k != "event"},
                gone | {"disconnected_at": "yesterday"},
                gone | {"username": "x" * 300},
            ):
                invalid = await client.post(EVENTS, json=bad, headers=AUTH)
                assert invalid.status_code == 422
                assert invalid.headers["content-type"].startswith("application/problem+json")
            json_type = {"Content-Type": "application/json"}
            not_json = await client.post(EVENTS, content=b"{", headers=AUTH | json_type)
            assert not_json.status_code in (400, 422)
            schema = (await client.get("/openapi.json")).json()
            assert EVENTS not in schema["paths"]
        off = httpx.ASGITransport(app=_app(runtime, None))
        async with httpx.AsyncClient(transport=off, base_url="http://test") as client:
            assert (await client.post(EVENTS, json=gone, headers=AUTH)).status_code == 404

    asyncio.run(scenario())
    assert _state(db, device) == before
