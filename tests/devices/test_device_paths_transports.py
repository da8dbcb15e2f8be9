"""Per-path results, discovery and the path gate with strict agents over every transport.

The evidence issue 15 asks for items 2, 3 and 8: ``serve`` (the devices area, and
with ``device_serve_mqtt`` its MQTT transport on the real Mosquitto) talks to strict
simulated agents (like OB-USP-Agent: no OnBoardRequest, notifications only to
subscribers, per-path errors for what the model lacks) over MQTT 5, MQTT 3.1.1 and
WebSocket.  A model without ``Device.Hosts.`` answers live status with a problem
(audited as refused); missing registration fields are recorded; discovery is stored
once per model and firmware; a partly applied Wi-Fi Set says what was and was not
applied; and the controller refuses an undeclared path before anything is sent.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
from collections.abc import AsyncIterator, Sequence
from typing import Any

import pytest
import sqlalchemy as sa

from doorstep.core.runtime import Runtime
from doorstep.usp._msg import Msg
from doorstep.usp.agent_sim import SimAgent, WebSocketOptions
from doorstep.usp.agent_sim.agent import SendMsg
from doorstep.usp.config import UspConfig
from doorstep.usp.mtp.mqtt import MqttTransport
from doorstep.usp.paths import PathRefusedError, paths_of
from tests.devices.conftest import (
    PREFIX,
    Served,
    add_subscriber,
    bearer,
    devices_for,
    provision,
    served,
)
from tests.usp_net.conftest import needs_mosquitto, run
from tests.usp_net.helpers import fleet, mqtt_options, until

KINDS = ["mqtt5", "mqtt311", "websocket"]
REG = "device.registration"
pytestmark = needs_mosquitto


class RecordingAgent(SimAgent):
    """A strict agent that remembers every request path it received (the wire's truth)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.received: list[str] = []

    def answer(self, msg: Msg, send: SendMsg) -> Msg | None:
        if msg.is_request:
            self.received.extend(paths_of(msg.body))
        return super().answer(msg, send)


def _strict(agent: SimAgent, *omit: str, **profile: str) -> RecordingAgent:
    """``agent`` as a strict device whose model lacks ``omit``."""
    changed = dataclasses.replace(agent.profile, omit=omit, **profile)
    return RecordingAgent(
        changed,
        controller_id=agent.controller_id,
        secret=agent.secret,
        claim_code=agent.claim_code,
        timing=agent.timing,
        strict=True,
    )


def _with(runtime: Runtime, **settings: object) -> Runtime:
    return dataclasses.replace(runtime, settings=runtime.settings.model_copy(update=settings))


def _owner(runtime: Runtime, agents: Sequence[SimAgent]) -> dict[str, str]:
    with runtime.sessions.begin() as session:
        provision(session, runtime, agents)
        _subject, token = add_subscriber(session, runtime)
    return bearer(token)


def _scalar(runtime: Runtime, query: str) -> Any:
    with runtime.engine.connect() as connection:
        return connection.execute(sa.text(query)).scalar()


def _refusals(runtime: Runtime, action: str) -> int:
    query = f"SELECT count(*) FROM audit_events WHERE action = '{action}' AND outcome = 'refused'"
    return int(_scalar(runtime, query))


async def _registered(runtime: Runtime, count: int) -> None:
    """Until ``count`` devices have had their registration read (first contact done)."""
    query = "SELECT count(*) FROM device_registrations WHERE serial_number IS NOT NULL"
    await until(lambda: _scalar(runtime, query) == count, timeout=30)


@contextlib.asynccontextmanager
async def reached(
    kind: str, runtime: Runtime, agents: Sequence[SimAgent], broker: int
) -> AsyncIterator[Served]:
    """``serve`` with ``agents`` connected over ``kind`` and their registrations read."""
    if kind == "websocket":
        async with (
            served(runtime) as app,
            fleet(agents, WebSocketOptions(app.ws_url), onboard=False),
        ):
            await _registered(runtime, len(agents))
            yield app
        return
    mqtt = _with(runtime, device_serve_mqtt=True)
    async with served(mqtt, mqtt_url=f"mqtt://127.0.0.1:{broker}") as app:
        # serve's own MQTT transport (device_serve_mqtt); a strict agent's MQTT Connect
        # Record is sent once, so the controller must be subscribed before it connects
        transport, _address = app.state.hub.controller.route(agents[0].endpoint_id)
        assert isinstance(transport, MqttTransport)
        await asyncio.wait_for(transport.connected.wait(), 10)
        options = mqtt_options(app.config, broker, v5=kind == "mqtt5")
        async with fleet(agents, options, onboard=False):
            await _registered(runtime, len(agents))
            yield app


@pytest.mark.parametrize("kind", KINDS)
def test_live_status_without_hosts_is_a_refused_problem(
    kind: str, committed: Runtime, broker: int
) -> None:
    runtime = _with(committed, device_discovery=False)  # the device's own answer, not discovery
    agent = _strict(devices_for(UspConfig(), 1)[0], "Device.Hosts.")
    auth = _owner(runtime, [agent])

    async def scenario() -> None:
        async with reached(kind, runtime, [agent], broker) as app:
            bound = await app.http.post(
                f"{PREFIX}/bindings", json={"claim_code": agent.claim_code}, headers=auth
            )
            assert bound.status_code < 300, bound.text
            device = bound.json()["device_id"]
            answer = await app.http.get(f"{PREFIX}/{device}/status", headers=auth)
            assert answer.status_code == 422, answer.text
            problem = answer.json()
            assert problem["type"].endswith("device-function-unsupported")
            assert problem["function"] == "status"
            assert problem["missing"] == "Device.Hosts.Host.{i}."
            assert problem["usp_code"] == 7026
            assert "terminals" not in problem
            # the device was asked (a per-path error, not a guess from discovery)
            assert any(p.startswith("Device.Hosts.") for p in agent.received)

    run(scenario())
    assert _refusals(committed, "devices.status_queried") == 1


@pytest.mark.parametrize("kind", KINDS)
def test_registration_records_the_fields_the_device_does_not_provide(
    kind: str, committed: Runtime, broker: int
) -> None:
    agent = _strict(devices_for(UspConfig(), 1)[0], "Device.Ethernet.", software_version="")
    auth = _owner(committed, [agent])

    async def scenario() -> None:
        async with reached(kind, committed, [agent], broker) as app:
            await app.http.post(
                f"{PREFIX}/bindings", json={"claim_code": agent.claim_code}, headers=auth
            )
            (listed,) = (await app.http.get(PREFIX, headers=auth)).json()["devices"]
            assert listed["missing_fields"] == ["firmware_version", "mac_address"]
            assert listed["firmware_version"] is None and listed["mac_address"] is None
            assert listed["serial_number"] == agent.profile.serial_number
            assert listed["model"] == agent.profile.model_name

    run(scenario())
    stored = "SELECT missing_fields::text FROM device_registrations"
    assert _scalar(committed, stored) == "{firmware_version,mac_address}"


@pytest.mark.parametrize("kind", KINDS)
def test_discovery_is_stored_once_per_model_and_firmware(
    kind: str, committed: Runtime, broker: int
) -> None:
    lacking = ("Device.Hosts.", "Device.WiFi.NeighboringWiFiDiagnostic()")
    first, second = (
        _strict(a, *lacking)
        for a in devices_for(UspConfig(), 3)[::2]  # two routers: one model and firmware
    )
    assert first.profile.model_name == second.profile.model_name
    assert first.profile.software_version == second.profile.software_version
    auth = _owner(committed, [first, second])

    async def scenario() -> None:
        async with reached(kind, committed, [first, second], broker) as app:
            await until(lambda: _scalar(committed, "SELECT count(*) FROM device_capabilities"))
            bound = await app.http.post(
                f"{PREFIX}/bindings", json={"claim_code": first.claim_code}, headers=auth
            )
            device = bound.json()["device_id"]
            (listed,) = (await app.http.get(PREFIX, headers=auth)).json()["devices"]
            functions = {f["name"]: f for f in listed["functions"]}
            offered = {name for name, f in functions.items() if f["available"]}
            assert offered == {"pppoe", "wifi", "reboot"}
            assert "Device.Hosts.Host.{i}." in functions["status"]["reason"]
            assert "NeighboringWiFiDiagnostic()" in functions["wifi_scan"]["reason"]
            answer = await app.http.get(f"{PREFIX}/{device}/status", headers=auth)
            assert answer.status_code == 422, answer.text
            assert answer.json()["type"].endswith("device-function-unsupported")
            # refused from what discovery stored: the device is not asked for its hosts
            assert not any(p.startswith("Device.Hosts.") for p in first.received)

    run(scenario())
    assert _scalar(committed, "SELECT count(*) FROM device_capabilities") == 1
    assert _scalar(committed, "SELECT model FROM device_capabilities") == first.profile.model_name
    assert _refusals(committed, "devices.status_queried") == 1


@pytest.mark.parametrize("kind", KINDS)
def test_a_partly_applied_wifi_set_reports_what_was_applied(
    kind: str, committed: Runtime, broker: int
) -> None:
    runtime = _with(committed, device_discovery=False)
    agent = _strict(devices_for(UspConfig(), 1)[0], "Device.WiFi.AccessPoint.")
    auth = _owner(runtime, [agent])

    async def scenario() -> None:
        async with reached(kind, runtime, [agent], broker) as app:
            bound = await app.http.post(
                f"{PREFIX}/bindings", json={"claim_code": agent.claim_code}, headers=auth
            )
            device = bound.json()["device_id"]
            body = {"ssid": "new-name", "passphrase": "canary-pass-77"}
            answer = await app.http.put(f"{PREFIX}/{device}/wifi", json=body, headers=auth)
            assert answer.status_code == 422, answer.text
            problem = answer.json()
            assert problem["type"].endswith("device-partly-applied")
            assert problem["applied"] == ["SSID"]
            assert [p["param"] for p in problem["not_applied"]] == ["KeyPassphrase"]
            assert "canary-pass-77" not in answer.text
            assert agent.model.values["Device.WiFi.SSID.1.SSID"] == "new-name"

    run(scenario())


@pytest.mark.clause("CPE-I.ii.1.a")
@pytest.mark.parametrize("kind", KINDS)
def test_the_controller_refuses_an_undeclared_path_before_sending(
    kind: str, committed: Runtime, broker: int
) -> None:
    agent = _strict(devices_for(UspConfig(), 1)[0])
    eid = agent.endpoint_id
    _owner(committed, [agent])

    async def scenario() -> None:
        async with reached(kind, committed, [agent], broker) as app:
            controller = app.state.hub.controller
            before = list(agent.received)
            with pytest.raises(PathRefusedError) as refused:
                await controller.get(eid, "Device.Hosts.Host.*.HostName", purpose=REG)
            assert refused.value.status == 403
            with pytest.raises(PathRefusedError):
                await controller.get(eid, "Device.DeviceInfo.SerialNumber", purpose=None)
            # the same connection carries a declared path: the refusal was the gate's
            answer = await controller.get(eid, "Device.DeviceInfo.SerialNumber", purpose=REG)
            assert answer.values == {"Device.DeviceInfo.SerialNumber": agent.profile.serial_number}
            sent = agent.received[len(before) :]
            assert "Device.DeviceInfo.SerialNumber" in sent
            assert not any(p.startswith("Device.Hosts.") for p in agent.received)
            assert controller.counters["paths_refused"] == 2
            audited = (
                "SELECT count(*) FROM audit_events WHERE action = 'usp.path_refused' "
                "AND outcome = 'refused'"
            )
            await until(lambda: _scalar(committed, audited) == 2, timeout=15)

    run(scenario())
    details = _scalar(
        committed,
        "SELECT string_agg(details::text, ' ') FROM audit_events WHERE action = 'usp.path_refused'",
    )
    assert "Device.Hosts.Host.:any.HostName" in details  # the shape, in the trail's alphabet
    assert '"reason": "no_purpose"' in details
    assert eid not in details
