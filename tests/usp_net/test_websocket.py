"""USP over the WebSocket endpoint of ``doorstep serve``, served for real by uvicorn."""

from __future__ import annotations

import asyncio
import base64
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed, InvalidStatus

from doorstep.asgi import create_app
from doorstep.audit.models import AuditEvent
from doorstep.core.runtime import Runtime
from doorstep.usp import AsyncRequest, ErrorCode, Event, OutputArgs, UspErrorResponse
from doorstep.usp.agent_sim import SimAgent, WebSocketOptions, make_agents
from doorstep.usp.controller import RuntimeAuditSink, endpoint_ref
from doorstep.usp.credentials import InMemoryCredentialStore
from doorstep.usp.mtp import websocket as usp_ws
from doorstep.usp.records import encode_record, websocket_connect
from tests.usp_net.conftest import net_config, run, serve_app
from tests.usp_net.helpers import RecordingHooks, agents_for, fleet, store_for, until


def _app(runtime: Runtime, store: InMemoryCredentialStore, hooks: RecordingHooks) -> Any:
    app = create_app(runtime)  # AREA_ROUTERS mounts the USP WebSocket endpoint
    audit = RuntimeAuditSink(runtime, repeat_seconds=0)
    usp_ws.install(app, credentials=store, hooks=hooks, audit=audit, config=net_config(1))
    return app


def _url(base: str, eid: str) -> str:
    return f"{base}?eid={eid}"


def test_get_set_operate_round_trips_over_websocket(runtime: Runtime) -> None:
    agents = agents_for(net_config(1), 2)
    router, gateway = agents
    hooks = RecordingHooks()
    app = _app(runtime, store_for(agents), hooks)
    controller = usp_ws.hub_of(app).controller

    async def scenario() -> None:
        async with serve_app(app) as url, fleet(agents, WebSocketOptions(url)):
            await until(lambda: len(hooks.connected) == 2)
            info = await controller.get(gateway.endpoint_id, "Device.DeviceInfo.")
            assert info.params["Device.DeviceInfo."]["ProductClass"] == "gateway"
            hosts = await controller.get(gateway.endpoint_id, "Device.Hosts.Host.*.HostName")
            assert len(hosts.values) == 3

            await controller.set(router.endpoint_id, {"Device.PPP.Interface.1.Password": "pw-1"})
            ppp = await controller.get(router.endpoint_id, "Device.PPP.Interface.1.")
            assert ppp.params["Device.PPP.Interface.1."]["Password"] == ""  # write-only
            with pytest.raises(UspErrorResponse) as refused:
                await controller.set(router.endpoint_id, {"Device.WiFi.SSID.1.SSID": ""})
            assert refused.value.error.err_code == ErrorCode.INVALID_VALUE

            survey = await controller.operate(
                router.endpoint_id, "Device.WiFi.NeighboringWiFiDiagnostic()"
            )
            assert isinstance(survey.operation_results[0].result, AsyncRequest)

            reboot = await controller.operate(router.endpoint_id, "Device.Reboot()")
            assert isinstance(reboot.operation_results[0].result, OutputArgs)
            await until(lambda: router.endpoint_id in hooks.disconnected)
            await until(lambda: len(hooks.named(router.endpoint_id, Event, "Boot!")) == 2)
            again = await controller.get(router.endpoint_id, "Device.DeviceInfo.SerialNumber")
            assert again.values["Device.DeviceInfo.SerialNumber"] == router.profile.serial_number

    run(scenario())


@pytest.mark.clause("CPE-IV.1.a")
def test_the_upgrade_needs_the_devices_own_credentials(runtime: Runtime, db: Session) -> None:
    device = agents_for(net_config(1), 1)[0]
    stranger = make_agents(1, controller_id=device.controller_id)[0]
    app = _app(runtime, store_for([device]), RecordingHooks())
    hub = usp_ws.hub_of(app)
    basic = base64.b64encode(f"{device.endpoint_id}:{device.secret}".encode()).decode()
    attempts = {
        "no_credentials": (device.endpoint_id, {}, True),
        "bad_credentials": (device.endpoint_id, {"Authorization": "Bearer wrong-secret"}, True),
        "unknown_endpoint": (
            stranger.endpoint_id,
            {"Authorization": f"Bearer {stranger.secret}"},
            True,
        ),
        "identity_mismatch": (stranger.endpoint_id, {"Authorization": f"Basic {basic}"}, True),
        "no_subprotocol": (device.endpoint_id, {"Authorization": f"Basic {basic}"}, False),
    }

    async def scenario() -> None:
        async with serve_app(app) as url:
            for eid, headers, with_subprotocol in attempts.values():
                with pytest.raises(InvalidStatus) as refused:
                    async with connect(
                        _url(url, eid),
                        additional_headers=headers,
                        subprotocols=[usp_ws.SUBPROTOCOL] if with_subprotocol else None,  # type: ignore[list-item]
                        proxy=None,
                    ):
                        pass
                assert refused.value.response.status_code == 403
            async with connect(
                _url(url, device.endpoint_id),
                additional_headers={"Authorization": f"Basic {basic}"},
                subprotocols=["v1.usp"],  # type: ignore[list-item]
                proxy=None,
            ) as accepted:
                assert accepted.subprotocol == "v1.usp"
            audit = hub.controller.audit
            assert isinstance(audit, RuntimeAuditSink)
            await audit.drain()

    run(scenario())
    rows = db.execute(sa.select(AuditEvent.action, AuditEvent.details)).all()
    reasons = {details["reason"]: (action, details) for action, details in rows}
    assert set(reasons) == set(attempts)
    action, details = reasons["unknown_endpoint"]
    assert action == "usp.endpoint_refused"
    key = runtime.settings.secret_key.get_secret_value().encode()
    assert details["endpoint"] == endpoint_ref(stranger.endpoint_id, key)
    assert details["mtp"] == "websocket"


def test_garbage_closes_only_that_session(runtime: Runtime) -> None:
    agents = agents_for(net_config(1), 2)
    good, noisy = agents
    hooks = RecordingHooks()
    app = _app(runtime, store_for(agents), hooks)
    controller = usp_ws.hub_of(app).controller

    async def session(url: str, agent: SimAgent) -> Any:
        return connect(
            _url(url, agent.endpoint_id),
            additional_headers={"Authorization": f"Bearer {agent.secret}"},
            subprotocols=["v1.usp"],  # type: ignore[list-item]
            proxy=None,
        )

    async def scenario() -> None:
        async with serve_app(app) as url, fleet([good], WebSocketOptions(url)):
            for junk in (b"\x0a\xff\xff garbage", "a text frame"):
                async with await session(url, noisy) as raw:
                    hello = websocket_connect(
                        to_id=controller.endpoint_id, from_id=noisy.endpoint_id
                    )
                    await raw.send(encode_record(hello))
                    await raw.send(junk)
                    with pytest.raises(ConnectionClosed) as closed:
                        await asyncio.wait_for(raw.recv(), 5)
                    assert closed.value.rcvd is not None
                    assert closed.value.rcvd.code == 1003
                reply = await controller.get(good.endpoint_id, "Device.DeviceInfo.SerialNumber")
                assert reply.values["Device.DeviceInfo.SerialNumber"] == good.profile.serial_number
            assert controller.counters["dropped_garbage"] == 2
            await until(lambda: noisy.endpoint_id in hooks.disconnected)
            assert good.endpoint_id not in hooks.disconnected

    run(scenario())
