"""The app API end to end: uvicorn, the real WebSocket MTP, simulated routers and gateways."""

from __future__ import annotations

import asyncio
import io
import uuid

import pytest
import sqlalchemy as sa

from doorstep.core.runtime import Runtime
from doorstep.usp.agent_sim import SimAgent, WebSocketOptions
from doorstep.usp.claims import display_claim_code
from doorstep.usp.config import UspConfig
from tests.devices.conftest import (
    PREFIX,
    add_subscriber,
    bearer,
    devices_for,
    dump_database,
    provision,
    served,
)
from tests.usp_net.conftest import run
from tests.usp_net.helpers import fleet, until

PPP = "Device.PPP.Interface.1."


def _owner(runtime: Runtime, agents: list[SimAgent]) -> tuple[uuid.UUID, str]:
    with runtime.sessions.begin() as session:
        provision(session, runtime, agents)
        return add_subscriber(session, runtime)


def _count(runtime: Runtime, query: str, **params: object) -> int:
    with runtime.engine.connect() as connection:
        return int(connection.execute(sa.text(query), params).scalar_one())


def _audited(runtime: Runtime, action: str, outcome: str = "ok") -> int:
    return _count(
        runtime,
        "SELECT count(*) FROM audit_events WHERE action = :a AND outcome = :o",
        a=action,
        o=outcome,
    )


@pytest.mark.clause("CPE-I.iii.R1")
@pytest.mark.clause("CPE-I.iii.R2")
@pytest.mark.clause("CPE-I.iii.G")
@pytest.mark.parametrize("product", ["router", "gateway"])
def test_pppoe_is_set_on_the_device_kept_sealed_and_deleted_at_unbind(
    committed: Runtime, log_lines: io.StringIO, product: str
) -> None:
    agent = devices_for(UspConfig(), 2)[0 if product == "router" else 1]
    assert agent.profile.product_class == product
    _subject, token = _owner(committed, [agent])
    username, password = f"isp-{uuid.uuid4().hex[:8]}", f"pw-{uuid.uuid4().hex}"
    auth = bearer(token)

    async def scenario() -> None:
        async with served(committed) as app, fleet([agent], WebSocketOptions(app.ws_url)):
            bound = await app.http.post(
                f"{PREFIX}/bindings",
                json={"claim_code": display_claim_code(agent.claim_code)},
                headers=auth,
            )
            assert bound.status_code == 201, bound.text
            device = bound.json()["device_id"]
            listed = (await app.http.get(PREFIX, headers=auth)).json()["devices"]
            assert [d["product_type"] for d in listed] == [product]
            assert listed[0]["serial_number"] == agent.profile.serial_number
            body = {"username": username, "password": password}
            done = await app.http.put(f"{PREFIX}/{device}/pppoe", json=body, headers=auth)
            assert done.status_code == 200, done.text
            assert agent.model.values[PPP + "Username"] == username
            assert agent.model.values[PPP + "Password"] == password
            back = await app.http.get(f"{PREFIX}/{device}/pppoe", headers=auth)
            assert back.status_code == 200, back.text
            for answer in (done, back):  # the password is never given back, not even to its owner
                assert password not in answer.text and "password" not in answer.json()
                assert answer.json()["username"] == username
                assert answer.json()["password_set"] is True and answer.json()["set_at"]
            await until(lambda: _count(committed, "SELECT count(*) FROM device_pppoe") == 1)
            dump = await asyncio.to_thread(dump_database, committed)
            assert username not in dump and password not in dump
            gone = await app.http.delete(f"{PREFIX}/{device}/binding", headers=auth)
            assert gone.status_code == 204
            # SessionDep commits right after the response is sent (request scope)
            await until(lambda: _count(committed, "SELECT count(*) FROM device_pppoe") == 0)
            after = await app.http.get(f"{PREFIX}/{device}/pppoe", headers=auth)
            assert after.status_code == 404
            # the device keeps its own configuration: only the cloud copy is gone
            assert agent.model.values[PPP + "Username"] == username

    run(scenario())
    assert _audited(committed, "devices.pppoe_set") == 1
    assert _audited(committed, "devices.unbound") == 1
    said = log_lines.getvalue()
    assert username not in said and password not in said


@pytest.mark.clause("CPE-I.iii.R1")
def test_a_set_the_device_refuses_returns_its_code_and_stores_nothing(
    committed: Runtime,
) -> None:
    (agent,) = devices_for(UspConfig(), 1)
    _subject, token = _owner(committed, [agent])
    auth = bearer(token)

    async def scenario() -> None:
        async with served(committed) as app, fleet([agent], WebSocketOptions(app.ws_url)):
            bound = await app.http.post(
                f"{PREFIX}/bindings", json={"claim_code": agent.claim_code}, headers=auth
            )
            device = bound.json()["device_id"]
            first = {"username": "first-user", "password": "first-password"}
            ok = await app.http.put(f"{PREFIX}/{device}/pppoe", json=first, headers=auth)
            assert ok.status_code == 200
            # Interface 2 does not exist on the device: it answers 7016
            refused = await app.http.put(
                f"{PREFIX}/{device}/pppoe",
                json={"username": "second-user", "password": "second-pw", "interface": 2},
                headers=auth,
            )
            assert refused.status_code == 422
            problem = refused.json()
            assert problem["type"].endswith("/device-refused")
            assert problem["usp_code"] == 7016
            assert refused.headers["content-type"] == "application/problem+json"
            assert "second" not in refused.text
            back = await app.http.get(f"{PREFIX}/{device}/pppoe", headers=auth)
            assert back.json()["username"] == "first-user"  # the old ones, untouched
            wifi = await app.http.put(
                f"{PREFIX}/{device}/wifi",
                json={"ssid": "x", "passphrase": "long-enough", "index": 3},
                headers=auth,
            )
            assert wifi.status_code == 422 and wifi.json()["usp_code"] == 7016

    run(scenario())
    assert _audited(committed, "devices.pppoe_set") == 1
    assert _audited(committed, "devices.pppoe_set", "failed") == 1
    assert _audited(committed, "devices.wifi_set", "failed") == 1


@pytest.mark.clause("CPE-I.iii.R5")
@pytest.mark.clause("CPE-IV.1.a")
def test_only_the_owner_reaches_a_device(committed: Runtime) -> None:
    (agent,) = devices_for(UspConfig(), 1)
    _owner_id, token = _owner(committed, [agent])
    with committed.sessions.begin() as session:
        _other, stranger = add_subscriber(session, committed)

    async def scenario() -> None:
        async with served(committed) as app, fleet([agent], WebSocketOptions(app.ws_url)):
            bound = await app.http.post(
                f"{PREFIX}/bindings", json={"claim_code": agent.claim_code}, headers=bearer(token)
            )
            device = bound.json()["device_id"]
            assert (await app.http.get(f"{PREFIX}/{device}/status")).status_code == 401
            for method, path in (
                ("GET", "status"),
                ("GET", "pppoe"),
                ("POST", "reboot"),
                ("POST", "wifi/scan"),
                ("DELETE", "binding"),
            ):
                answer = await app.http.request(
                    method, f"{PREFIX}/{device}/{path}", headers=bearer(stranger)
                )
                assert answer.status_code == 404, (path, answer.text)
            taken = await app.http.post(
                f"{PREFIX}/bindings",
                json={"claim_code": agent.claim_code},
                headers=bearer(stranger),
            )
            assert taken.status_code == 409
            assert (await app.http.get(PREFIX, headers=bearer(stranger))).json() == {"devices": []}

    run(scenario())


@pytest.mark.clause("CPE-I.ii.2.a")
@pytest.mark.clause("CPE-I.ii.2.b")
def test_wrong_codes_through_the_api_lock_out_with_retry_after(committed: Runtime) -> None:
    (agent,) = devices_for(UspConfig(), 1)
    _subject, token = _owner(committed, [agent])
    limit = committed.settings.device_claim_max_failures

    async def scenario() -> None:
        async with served(committed) as app:
            extra = await app.http.post(
                f"{PREFIX}/bindings",
                json={"claim_code": agent.claim_code, "connected_clients": ["laptop-1"]},
                headers=bearer(token),
            )
            assert extra.status_code == 422
            assert extra.json()["errors"] == [
                {"field": "connected_clients", "rule": "extra_forbidden"}
            ]
            assert "laptop-1" not in extra.text
            for _ in range(limit):
                wrong = await app.http.post(
                    f"{PREFIX}/bindings",
                    json={"claim_code": "AAAAA-AAAAA-AAAAA-AAAAA"},
                    headers=bearer(token),
                )
                assert wrong.status_code == 422 and wrong.json()["type"].endswith("claim-rejected")
            locked = await app.http.post(
                f"{PREFIX}/bindings", json={"claim_code": agent.claim_code}, headers=bearer(token)
            )
            assert locked.status_code == 429
            assert int(locked.headers["retry-after"]) > 0

    run(scenario())
    assert _audited(committed, "devices.claim_failed", "refused") == limit
    assert _count(committed, "SELECT count(*) FROM device_bindings") == 0


def test_reboot_brings_the_device_back_and_it_registers_again(committed: Runtime) -> None:
    (agent,) = devices_for(UspConfig(), 1)
    _subject, token = _owner(committed, [agent])

    async def scenario() -> None:
        async with served(committed) as app, fleet([agent], WebSocketOptions(app.ws_url)):
            bound = await app.http.post(
                f"{PREFIX}/bindings", json={"claim_code": agent.claim_code}, headers=bearer(token)
            )
            device = bound.json()["device_id"]
            sessions = agent.sessions
            done = await app.http.post(f"{PREFIX}/{device}/reboot", headers=bearer(token))
            assert done.status_code == 202, done.text
            await until(lambda: agent.sessions > sessions)
            await until(lambda: _audited(committed, "devices.registration_stored") >= 2)

    run(scenario())
