"""Onboarding over the real WebSocket MTP and Mosquitto: the registration record, exactly."""

from __future__ import annotations

import asyncio
import secrets

import pytest
import sqlalchemy as sa

from doorstep.core.runtime import Runtime
from doorstep.devices.models import REGISTRATION_FIELDS, REGISTRATION_METADATA, ProductType
from doorstep.devices.mount import controller_parts
from doorstep.devices.registry import RegistrationPaths, read_registration
from doorstep.usp import GetPathResult, GetResp, ResolvedPath
from doorstep.usp.agent_sim import Host, WebSocketOptions
from doorstep.usp.config import UspConfig
from doorstep.usp.controller import Controller
from doorstep.usp.mtp.mqtt import MqttTransport
from doorstep.usp.runner import run_mqtt_controller
from tests.devices.conftest import devices_for, dump_database, provision, served, with_hosts
from tests.usp_net.conftest import net_config, run
from tests.usp_net.helpers import fleet, mqtt_options

REGISTRATION = (
    "SELECT r.*, d.endpoint_key FROM device_registrations r JOIN devices d ON d.id = r.device_id "
    "WHERE r.endpoint_id = :eid"
)


def _registration(runtime: Runtime, endpoint_id: str) -> dict[str, object] | None:
    with runtime.engine.connect() as connection:
        row = connection.execute(sa.text(REGISTRATION), {"eid": endpoint_id}).mappings().first()
    return None if row is None else dict(row)


@pytest.mark.clause("CPE-I.ii.1.a")
@pytest.mark.clause("CORP-1.10")
def test_onboarding_stores_exactly_the_six_fields(committed: Runtime) -> None:
    marker = secrets.token_hex(4)
    hosts = [Host(f"canary-host-{marker}", "0a:11:22:33:44:55", "192.168.1.77")]
    agents = [
        with_hosts(agent, hosts, ssid=f"canary-ssid-{marker}")
        for agent in devices_for(UspConfig(), 2)
    ]
    router, gateway = agents
    with committed.sessions.begin() as session:
        provision(session, committed, agents)

    async def scenario() -> None:
        async with served(committed) as app:
            async with fleet(agents, WebSocketOptions(app.ws_url)):
                # the fleet waited for every NotifyResp: sent once the record was stored
                row = await asyncio.to_thread(_registration, committed, router.endpoint_id)
                assert row is not None and row["online"] and row["offline_since"] is None
            # The disconnect hooks run after the sessions close; wait for them while
            # the server still runs (under load they may take a moment).
            for _ in range(200):
                rows = [
                    await asyncio.to_thread(_registration, committed, a.endpoint_id) for a in agents
                ]
                if all(r is not None and not r["online"] for r in rows):
                    break
                await asyncio.sleep(0.05)

    run(scenario())
    every = [c["name"] for c in sa.inspect(committed.engine).get_columns("device_registrations")]
    assert sorted(every) == sorted(REGISTRATION_FIELDS + REGISTRATION_METADATA)
    for agent, product in ((router, ProductType.ROUTER), (gateway, ProductType.GATEWAY)):
        row = _registration(committed, agent.endpoint_id)
        assert row is not None
        profile = agent.profile
        assert {name: row[name] for name in REGISTRATION_FIELDS} == {
            "model": profile.model_name,
            "firmware_version": profile.software_version,
            "serial_number": profile.serial_number,
            "mac_address": profile.wan_mac,
            "network_status": "Up",
            "ip_address": profile.wan_ip,
        }
        assert row["product_type"] == product.value
        assert row["mtp"] == "websocket"
        # the sessions ended with the fleet: offline since then
        assert not row["online"] and row["offline_since"] == committed.clock.now()
    dump = dump_database(committed)
    for value in (f"canary-host-{marker}", f"canary-ssid-{marker}", "0a:11:22:33:44:55"):
        assert value not in dump
    assert router.profile.serial_number in dump  # the dump does hold the registration


@pytest.mark.clause("CPE-I.ii.1.a")
@pytest.mark.clause("CORP-1.10")
def test_extra_parameters_in_the_devices_answer_are_stripped() -> None:
    paths = RegistrationPaths()
    resolved = (
        ResolvedPath(
            "Device.DeviceInfo.",
            {
                "ModelName": "DR-1000",
                "SoftwareVersion": "1.8.3",
                "SerialNumber": "SN123",
                "ProductClass": "Gateway",
                "HardwareVersion": "A1",
                "ConnectedClients": "laptop-1,phone-2",
            },
        ),
        ResolvedPath("Device.Ethernet.Interface.1.", {"MACAddress": "02:D0:0C:00:00:01"}),
        ResolvedPath(
            "Device.IP.Interface.1.", {"Status": "Up", "IPv4Address.1.IPAddress": "not-an-ip"}
        ),
        ResolvedPath("Device.Hosts.Host.1.", {"HostName": "laptop-1"}),
    )
    answer = GetResp((GetPathResult("Device.", 0, "", resolved),))
    registration = read_registration(answer, paths, ("gateway",))
    assert registration.fields() == {
        "model": "DR-1000",
        "firmware_version": "1.8.3",
        "serial_number": "SN123",
        "mac_address": "02:d0:0c:00:00:01",
        "network_status": "Up",
        "ip_address": None,
    }
    assert registration.product_type is ProductType.GATEWAY


@pytest.mark.clause("CPE-I.ii.1.a")
def test_onboarding_over_mqtt_through_mosquitto(committed: Runtime, broker: int) -> None:
    agent = devices_for(UspConfig(), 1)[0]
    with committed.sessions.begin() as session:
        provision(session, committed, [agent])

    async def scenario() -> None:
        async with served(committed, mqtt_url=f"mqtt://127.0.0.1:{broker}") as app:
            transport = MqttTransport(app.state.hub.controller)
            task = asyncio.create_task(transport.run())
            try:
                await asyncio.wait_for(transport.connected.wait(), 10)
                async with fleet([agent], mqtt_options(app.config, broker)):
                    pass
            finally:
                task.cancel()
                await asyncio.gather(task, return_exceptions=True)

    run(scenario())
    row = _registration(committed, agent.endpoint_id)
    assert row is not None
    assert row["serial_number"] == agent.profile.serial_number
    assert row["mtp"] == "mqtt" and row["mqtt_topic"]


@pytest.mark.clause("CPE-I.ii.1.a")
def test_a_standalone_mqtt_controller_registers_devices_too(
    committed: Runtime, broker: int
) -> None:
    """What ``doorstep controller`` runs with the devices area's parts (decision 0013)."""
    config = net_config(broker)
    agent = devices_for(config, 1)[0]
    with committed.sessions.begin() as session:
        provision(session, committed, [agent])
    credentials, hooks = controller_parts(committed, config)

    async def scenario() -> None:
        stop = asyncio.Event()
        ready = asyncio.Event()

        def started(controller: Controller, transport: MqttTransport) -> None:
            hooks.attach(controller)
            ready.set()

        task = asyncio.create_task(
            run_mqtt_controller(
                committed, config, credentials=credentials, hooks=hooks, stop=stop, started=started
            )
        )
        try:
            await asyncio.wait_for(ready.wait(), 10)
            async with fleet([agent], mqtt_options(config, broker)):
                pass
        finally:
            stop.set()
            await asyncio.wait_for(task, 15)

    run(scenario())
    row = _registration(committed, agent.endpoint_id)
    assert row is not None and row["serial_number"] == agent.profile.serial_number
