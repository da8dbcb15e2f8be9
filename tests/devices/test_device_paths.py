"""Per-path results and data-model discovery, end to end over the real WebSocket MTP.

A simulated model that lacks objects (``Profile.omit``) answers per-path errors
(7026) and a GetSupportedDM without them; Doorstep must say so instead of
pretending: a problem for live status (audited as a refusal), the fields it does
not provide on the registration, the functions offered per model and firmware,
and what a partly applied Set did and did not apply.
"""

from __future__ import annotations

import dataclasses
import uuid

import sqlalchemy as sa

from doorstep.core.runtime import Runtime
from doorstep.usp.agent_sim import SimAgent, WebSocketOptions
from doorstep.usp.config import UspConfig
from tests.devices.conftest import PREFIX, add_subscriber, bearer, devices_for, provision, served
from tests.usp_net.conftest import run
from tests.usp_net.helpers import fleet, until


def _lacking(agent: SimAgent, *objects: str, **profile: str) -> SimAgent:
    changed = dataclasses.replace(agent.profile, omit=objects, **profile)
    return SimAgent(
        changed,
        controller_id=agent.controller_id,
        secret=agent.secret,
        claim_code=agent.claim_code,
        timing=agent.timing,
    )


def _no_discovery(runtime: Runtime) -> Runtime:
    settings = runtime.settings.model_copy(update={"device_discovery": False})
    return dataclasses.replace(runtime, settings=settings)


def _owner(runtime: Runtime, agents: list[SimAgent]) -> tuple[uuid.UUID, str]:
    with runtime.sessions.begin() as session:
        provision(session, runtime, agents)
        return add_subscriber(session, runtime)


def _scalar(runtime: Runtime, query: str) -> object:
    with runtime.engine.connect() as connection:
        return connection.execute(sa.text(query)).scalar()


def _refusals(runtime: Runtime, action: str) -> int:
    return int(
        str(
            _scalar(
                runtime,
                f"SELECT count(*) FROM audit_events WHERE action = '{action}' "
                "AND outcome = 'refused'",
            )
        )
    )


def test_live_status_of_a_device_without_hosts_is_a_problem_not_an_empty_list(
    committed: Runtime,
) -> None:
    runtime = _no_discovery(committed)
    agent = _lacking(devices_for(UspConfig(), 1)[0], "Device.Hosts.")
    _subject, token = _owner(runtime, [agent])
    auth = bearer(token)

    async def scenario() -> None:
        async with served(runtime) as app, fleet([agent], WebSocketOptions(app.ws_url)):
            bound = await app.http.post(
                f"{PREFIX}/bindings", json={"claim_code": agent.claim_code}, headers=auth
            )
            device = bound.json()["device_id"]
            answer = await app.http.get(f"{PREFIX}/{device}/status", headers=auth)
            assert answer.status_code == 422, answer.text
            problem = answer.json()
            assert problem["type"].endswith("device-function-unsupported")
            assert problem["function"] == "status"
            assert problem["missing"] == "Device.Hosts.Host.{i}."
            assert problem["usp_code"] == 7026
            assert "terminals" not in problem

    run(scenario())
    assert _refusals(committed, "devices.status_queried") == 1


def test_registration_names_the_fields_the_device_does_not_provide(committed: Runtime) -> None:
    agent = _lacking(devices_for(UspConfig(), 1)[0], "Device.Ethernet.", software_version="")
    _subject, token = _owner(committed, [agent])
    auth = bearer(token)

    async def scenario() -> None:
        async with served(committed) as app, fleet([agent], WebSocketOptions(app.ws_url)):
            await app.http.post(
                f"{PREFIX}/bindings", json={"claim_code": agent.claim_code}, headers=auth
            )
            await until(
                lambda: (
                    _scalar(
                        committed,
                        "SELECT count(*) FROM device_registrations "
                        "WHERE cardinality(missing_fields) > 0",
                    )
                    == 1
                )
            )
            (listed,) = (await app.http.get(PREFIX, headers=auth)).json()["devices"]
            assert listed["missing_fields"] == ["firmware_version", "mac_address"]
            assert listed["firmware_version"] is None and listed["mac_address"] is None
            assert listed["serial_number"] == agent.profile.serial_number

    run(scenario())


def test_discovery_is_kept_per_model_and_firmware_and_offers_only_what_it_supports(
    committed: Runtime,
) -> None:
    first, second = (
        _lacking(a, "Device.Hosts.", "Device.WiFi.NeighboringWiFiDiagnostic()")
        for a in devices_for(UspConfig(), 3)[::2]  # two routers: one model and firmware
    )
    assert first.profile.model_name == second.profile.model_name
    _subject, token = _owner(committed, [first, second])
    auth = bearer(token)

    async def scenario() -> None:
        async with served(committed) as app, fleet([first, second], WebSocketOptions(app.ws_url)):
            await until(lambda: _scalar(committed, "SELECT count(*) FROM device_capabilities"))
            await until(
                lambda: (
                    _scalar(
                        committed,
                        "SELECT count(*) FROM device_registrations WHERE model IS NOT NULL",
                    )
                    == 2
                )
            )
            bound = await app.http.post(
                f"{PREFIX}/bindings", json={"claim_code": first.claim_code}, headers=auth
            )
            device = bound.json()["device_id"]
            (listed,) = (await app.http.get(PREFIX, headers=auth)).json()["devices"]
            functions = {f["name"]: f for f in listed["functions"]}
            assert {n for n, f in functions.items() if f["available"]} == {
                "pppoe",
                "wifi",
                "reboot",
            }
            assert "Device.Hosts.Host.{i}." in functions["status"]["reason"]
            assert "NeighboringWiFiDiagnostic()" in functions["wifi_scan"]["reason"]
            answer = await app.http.get(f"{PREFIX}/{device}/status", headers=auth)
            assert answer.status_code == 422, answer.text
            assert answer.json()["type"].endswith("device-function-unsupported")

    run(scenario())
    # one model and firmware: one row, whichever unit was asked
    assert _scalar(committed, "SELECT count(*) FROM device_capabilities") == 1
    assert _scalar(committed, "SELECT model FROM device_capabilities") == first.profile.model_name
    assert _refusals(committed, "devices.status_queried") == 1


def test_a_wifi_set_the_device_applies_in_part_reports_what_was_applied(
    committed: Runtime,
) -> None:
    runtime = _no_discovery(committed)
    agent = _lacking(devices_for(UspConfig(), 1)[0], "Device.WiFi.AccessPoint.")
    _subject, token = _owner(runtime, [agent])
    auth = bearer(token)

    async def scenario() -> None:
        async with served(runtime) as app, fleet([agent], WebSocketOptions(app.ws_url)):
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
