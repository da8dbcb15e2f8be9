"""Canaries: live status and Wi-Fi scans reach the app and nowhere else.

A unique marker is planted in a simulated router (a connected host's name and MAC;
a neighbouring network's SSID and BSSID).  The app asks through the real API over
the real WebSocket MTP and must receive it; then the whole test database
(``pg_dump``, every table including the job queue), every log line of the run at
DEBUG, and the job tables are searched, and the marker is found nowhere.
"""

from __future__ import annotations

import asyncio
import io
import secrets
import uuid

import pytest

from doorstep.core.runtime import Runtime
from doorstep.usp.agent_sim import Host, SimAgent, WebSocketOptions
from doorstep.usp.agent_sim import _commands as sim_commands
from doorstep.usp.config import UspConfig
from tests.devices.conftest import (
    PREFIX,
    add_subscriber,
    bearer,
    consent,
    devices_for,
    dump_database,
    job_rows,
    provision,
    served,
    with_hosts,
)
from tests.usp_net.conftest import run
from tests.usp_net.helpers import fleet


def _canary_mac() -> str:
    return "0e:" + ":".join(secrets.token_hex(1) for _ in range(5))


def _owner(runtime: Runtime, agent: SimAgent) -> tuple[uuid.UUID, str]:
    with runtime.sessions.begin() as session:
        provision(session, runtime, [agent])
        return add_subscriber(session, runtime)


def _search_everywhere(runtime: Runtime, logs: io.StringIO, markers: list[str]) -> None:
    dump = dump_database(runtime)
    jobs = job_rows(runtime)
    said = logs.getvalue()
    assert "device_registrations" in dump and said  # the search looked at something real
    for marker in markers:
        for where, text in (("database", dump), ("logs", said), ("jobs", jobs)):
            assert marker.lower() not in text.lower(), f"{marker} found in the {where}"


@pytest.mark.clause("CPE-I.iii.R5")
@pytest.mark.clause("CPE-I.iii.R6")
@pytest.mark.clause("CPE-I.iii.G")
@pytest.mark.clause("CPE-V.1.b")
@pytest.mark.parametrize("product", ["router", "gateway"])
def test_live_status_reaches_the_app_and_is_stored_nowhere(
    committed: Runtime, log_lines: io.StringIO, product: str
) -> None:
    name, mac = f"CANARY-HOST-{uuid.uuid4().hex[:10]}", _canary_mac()
    hosts = [
        Host(name, mac, "192.168.1.23"),
        Host(f"{name}-gone", "0e:00:00:00:00:99", "192.168.1.24", active=False),
    ]
    base = devices_for(UspConfig(), 2)[0 if product == "router" else 1]
    agent = with_hosts(base, hosts)
    _subject, token = _owner(committed, agent)

    async def scenario() -> None:
        async with served(committed) as app, fleet([agent], WebSocketOptions(app.ws_url)):
            bound = await app.http.post(
                f"{PREFIX}/bindings", json={"claim_code": agent.claim_code}, headers=bearer(token)
            )
            device = bound.json()["device_id"]
            status = await app.http.get(f"{PREFIX}/{device}/status", headers=bearer(token))
            assert status.status_code == 200, status.text
            assert status.json() == {"terminals": [{"host_name": name, "mac_address": mac}]}
            await asyncio.sleep(0.2)  # let the request's transaction commit (after the answer)

    run(scenario())
    _search_everywhere(committed, log_lines, [name, mac])


@pytest.mark.clause("CPE-I.iii.R3")
@pytest.mark.clause("CPE-I.iii.R4")
@pytest.mark.clause("CPE-V.4.a")
@pytest.mark.clause("CPE-V.4.c")
def test_wifi_scan_needs_location_consent_and_is_stored_nowhere(
    committed: Runtime, log_lines: io.StringIO, monkeypatch: pytest.MonkeyPatch
) -> None:
    ssid = f"CANARY_SSID_{uuid.uuid4().hex[:8]}"
    monkeypatch.setattr(sim_commands, "_NEIGHBOURS", ((ssid, 6, -51), ("plain-neighbour", 44, -80)))
    (agent,) = devices_for(UspConfig(), 1)
    subject, without = _owner(committed, agent)
    home, passphrase = f"home-{uuid.uuid4().hex[:6]}", f"pass-{uuid.uuid4().hex}"

    async def scenario() -> None:
        async with served(committed) as app, fleet([agent], WebSocketOptions(app.ws_url)):
            bound = await app.http.post(
                f"{PREFIX}/bindings", json={"claim_code": agent.claim_code}, headers=bearer(without)
            )
            device = bound.json()["device_id"]
            refused = await app.http.post(f"{PREFIX}/{device}/wifi/scan", headers=bearer(without))
            assert refused.status_code == 403
            assert refused.json()["reason"] == "no_consent"
            # the manual path works without the location permission
            manual = await app.http.put(
                f"{PREFIX}/{device}/wifi",
                json={"ssid": home, "passphrase": passphrase},
                headers=bearer(without),
            )
            assert manual.status_code == 204, manual.text
            assert agent.model.values["Device.WiFi.SSID.1.SSID"] == home
            with committed.sessions.begin() as session:
                consent(session, committed, subject, "wifi.location_scan")
            scan = await app.http.post(f"{PREFIX}/{device}/wifi/scan", headers=bearer(without))
            assert scan.status_code == 200, scan.text
            networks = scan.json()["networks"]
            assert [n["ssid"] for n in networks] == [ssid, "plain-neighbour"]
            assert networks[0]["channel"] == 6 and networks[0]["signal_strength"] == -51
            await asyncio.sleep(0.2)

    run(scenario())
    _search_everywhere(committed, log_lines, [ssid, "02:5a:00:00:00:01", home, passphrase])


def test_a_stranger_gets_nothing_live(committed: Runtime) -> None:
    (agent,) = devices_for(UspConfig(), 1)
    _subject, token = _owner(committed, agent)
    with committed.sessions.begin() as session:
        _, stranger = add_subscriber(session, committed)

    async def scenario() -> None:
        async with served(committed) as app, fleet([agent], WebSocketOptions(app.ws_url)):
            bound = await app.http.post(
                f"{PREFIX}/bindings", json={"claim_code": agent.claim_code}, headers=bearer(token)
            )
            device = bound.json()["device_id"]
            other = await app.http.get(f"{PREFIX}/{device}/status", headers=bearer(stranger))
            assert other.status_code == 404
            assert "terminals" not in other.text

    run(scenario())
