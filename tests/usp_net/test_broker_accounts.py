"""``doorstep broker accounts`` against a real Mosquitto with the dynamic-security
plugin, and the HTTP authentication/authorization endpoints EMQX asks (decision 0029)."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import stat
from pathlib import Path
from typing import Any

import aiomqtt
import httpx
import pytest
import sqlalchemy as sa
from pydantic import SecretStr

from doorstep.asgi import create_app
from doorstep.core.runtime import Runtime
from doorstep.devices.broker.accounts import admin_broker, reconcile, write_commands
from doorstep.devices.broker.control import exchange
from doorstep.devices.broker.dynsec import role_of
from doorstep.devices.inventory import (
    FactoryRecord,
    find_device_id,
    import_records,
    installation_key,
    new_factory_record,
)
from doorstep.devices.models import Device
from doorstep.usp.agent_sim.fleet import SIM_HASH_LOG_N
from doorstep.usp.config import UspConfig, load_usp_config
from tests.usp_net.conftest import net_config, run

ADMIN, ADMIN_SECRET = "broker-admin", "admin-secret-0123456789abcdef"
TOKEN = "emqx-token-" + "x" * 32


def _runtime(runtime: Runtime, **changes: Any) -> Runtime:
    return dataclasses.replace(runtime, settings=runtime.settings.model_copy(update=changes))


def _units(count: int) -> list[FactoryRecord]:
    return [new_factory_record(f"os::02D00C-BRK{i:07d}") for i in range(count)]


def _provision(runtime: Runtime, records: list[FactoryRecord]) -> None:
    with runtime.sessions.begin() as session:
        import_records(
            session,
            records,
            key=installation_key(runtime.settings),
            now=runtime.clock.now(),
            log_n=SIM_HASH_LOG_N,
        )


def _factory_file(path: Path, records: list[FactoryRecord]) -> Path:
    lines = [
        json.dumps({"endpoint_id": r.endpoint_id, "secret": r.secret, "claim_code": r.claim_code})
        for r in records
    ]
    path.write_text("\n".join(lines) + "\n")
    return path


async def _signs_in(port: int, record: FactoryRecord) -> bool:
    try:
        async with aiomqtt.Client(
            "127.0.0.1", port, username=record.endpoint_id, password=record.secret
        ):
            return True
    except aiomqtt.MqttError:
        return False


def test_accounts_follow_the_inventory_live_and_a_second_run_changes_nothing(
    runtime: Runtime, spawn_broker: Any, tmp_path: Path
) -> None:
    control = tuple(f"{kind} $CONTROL/dynamic-security/#" for kind in ("write", "read", "receive"))
    broker = spawn_broker({ADMIN: (ADMIN_SECRET, control)})
    runtime = _runtime(
        runtime,
        broker_admin_url=SecretStr(f"mqtt://{ADMIN}:{ADMIN_SECRET}@127.0.0.1:{broker.port}"),
    )
    config: UspConfig = net_config(broker.port)
    kept, removed, foreign = _units(3)
    _provision(runtime, [kept, removed])  # `foreign` is not in this inventory
    factory = _factory_file(tmp_path / "factory.jsonl", [kept, removed, foreign])

    async def scenario() -> None:
        first = await reconcile(runtime, config, [factory])
        assert (first.created, first.removed, first.not_in_inventory) == (2, 0, 1)
        assert await _signs_in(broker.port, kept)
        assert await _signs_in(broker.port, removed)
        assert not await _signs_in(broker.port, foreign)
        async with aiomqtt.Client(
            "127.0.0.1", broker.port, username=kept.endpoint_id, password=kept.secret
        ) as device:
            await device.publish(f"{config.mqtt_controller_topic}/{kept.endpoint_id}", b"x", qos=1)
            await device.publish(
                f"{config.mqtt_controller_topic}/{removed.endpoint_id}", b"x", qos=1
            )

        again = await reconcile(runtime, config, [factory])
        assert again.commands == []  # idempotent

        # A unit leaves the inventory; an administrator broke another unit's role.
        with runtime.sessions.begin() as session:
            key = installation_key(runtime.settings)
            gone = find_device_id(session, key=key, endpoint_id=removed.endpoint_id)
            session.execute(sa.delete(Device).where(Device.id == gone))
        topic = f"{config.mqtt_agent_topic}/{kept.endpoint_id}"
        broken = {"command": "removeRoleACL", "rolename": role_of(kept.endpoint_id)}
        await exchange(
            admin_broker(runtime, config),
            [{**broken, "acltype": "subscribePattern", "topic": topic}],
        )
        third = await reconcile(runtime, config, [])  # no factory file needed for either
        assert (third.created, third.repaired, third.removed) == (0, 1, 1)
        assert not await _signs_in(broker.port, removed)
        assert await _signs_in(broker.port, kept)
        assert (await reconcile(runtime, config, [factory])).commands == []

    run(scenario())
    denied = [line for line in broker.log().splitlines() if "Denied PUBLISH" in line]
    own = f"'{config.mqtt_controller_topic}/{kept.endpoint_id}'"
    other = f"'{config.mqtt_controller_topic}/{removed.endpoint_id}'"
    assert any(other in line for line in denied)
    assert not any(own in line for line in denied)


def test_the_commands_can_be_written_to_a_private_file_instead(
    runtime: Runtime, tmp_path: Path
) -> None:
    inside, outside = _units(2)
    _provision(runtime, [inside])
    factory = _factory_file(tmp_path / "factory.jsonl", [inside, outside])
    out = tmp_path / "dynsec-commands.json"
    result = write_commands(runtime, net_config(1), [factory], out)
    assert (result.created, result.not_in_inventory) == (1, 1)
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    commands = json.loads(out.read_text())["commands"]
    clients = [c for c in commands if c["command"] == "createClient"]
    assert [c["username"] for c in clients] == [inside.endpoint_id]
    acls = [c for c in commands if c["command"] == "addRoleACL"]
    assert len(acls) == 8  # six grants, and receiving on the two it may subscribe to
    assert all(inside.endpoint_id in c["topic"] for c in acls)
    assert outside.endpoint_id not in out.read_text()


def _emqx_app(runtime: Runtime, token: str | None) -> Any:
    return create_app(_runtime(runtime, broker_http_token=SecretStr(token) if token else None))


def test_emqx_asks_doorstep_who_a_device_is_and_what_it_may_do(runtime: Runtime) -> None:
    device, stranger = _units(2)
    _provision(runtime, [device])
    config = load_usp_config(runtime.settings)  # the topics the app's controller uses
    eid = device.endpoint_id
    auth = {"Authorization": f"Bearer {TOKEN}"}

    async def scenario() -> None:
        transport = httpx.ASGITransport(app=_emqx_app(runtime, TOKEN))
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:

            async def authenticate(username: str, password: str) -> str:
                body = {"username": username, "password": password, "clientid": "c1"}
                response = await client.post("/api/v1/broker/authenticate", json=body, headers=auth)
                assert response.status_code == 200
                return str(response.json()["result"])

            async def authorize(username: str, action: str, topic: str) -> str:
                body = {"username": username, "action": action, "topic": topic}
                response = await client.post("/api/v1/broker/authorize", json=body, headers=auth)
                assert response.status_code == 200
                return str(response.json()["result"])

            assert await authenticate(eid, device.secret) == "allow"
            assert await authenticate(eid, "not-the-devices-secret") == "deny"
            assert await authenticate(stranger.endpoint_id, stranger.secret) == "deny"
            assert await authenticate("doorstep-controller", "whatever") == "ignore"

            controller, agent = config.mqtt_controller_topic, config.mqtt_agent_topic
            response = config.mqtt_response_topic
            assert await authorize(eid, "publish", f"{controller}/{eid}") == "allow"
            assert await authorize(eid, "publish", f"{response}/proc-1/{eid}") == "allow"
            assert await authorize(eid, "subscribe", f"{agent}/{eid}/#") == "allow"
            assert await authorize(eid, "publish", f"{controller}/{stranger.endpoint_id}") == "deny"
            assert await authorize(eid, "subscribe", f"{agent}/#") == "deny"
            assert await authorize(eid, "subscribe", f"$share/g/{controller}/#") == "deny"
            assert await authorize(eid, "all", f"{controller}/{eid}") == "deny"
            assert await authorize("doorstep-controller", "subscribe", f"{agent}/#") == "ignore"

            wrong = {"Authorization": "Bearer not-the-token"}
            body = {"username": eid, "password": device.secret}
            refused = await client.post("/api/v1/broker/authenticate", json=body, headers=wrong)
            assert refused.status_code == 401
            assert refused.headers["content-type"].startswith("application/problem+json")
            bad = {"username": eid, "action": "delete", "topic": "x"}
            invalid = await client.post("/api/v1/broker/authorize", json=bad, headers=auth)
            assert invalid.status_code == 422

        off = httpx.ASGITransport(app=_emqx_app(runtime, None))
        async with httpx.AsyncClient(transport=off, base_url="http://test") as client:
            body = {"username": eid, "password": device.secret}
            response = await client.post("/api/v1/broker/authenticate", json=body, headers=auth)
            assert response.status_code == 404

    asyncio.run(scenario())


@pytest.mark.parametrize(
    ("grant", "requested", "covered"),
    [
        ("a/+/e", "a/p/e", True),
        ("a/+/e", "a/+/e", True),
        ("a/+/e", "a/#", False),
        ("a/e/#", "a/e", True),
        ("a/e/#", "a/e/x/y", True),
        ("a/e", "a/e/x", False),
        ("a/e", "a/+", False),
    ],
)
def test_topic_filters_are_covered_only_by_wider_grants(
    grant: str, requested: str, covered: bool
) -> None:
    from doorstep.devices.broker.acl import covers

    assert covers(grant, requested) is covered
