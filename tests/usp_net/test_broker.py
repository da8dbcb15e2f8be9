"""Against brokers of our own: per-device credentials and ACLs, and a broker restart."""

from __future__ import annotations

import asyncio
from typing import Any

import aiomqtt
import pytest

from doorstep.usp import messages
from doorstep.usp.agent_sim import SimAgent
from doorstep.usp.config import UspConfig
from doorstep.usp.controller import NullAuditSink
from doorstep.usp.records import encode_record, wrap
from tests.usp_net.conftest import net_config, run
from tests.usp_net.helpers import (
    agents_for,
    fleet,
    mqtt_controller,
    mqtt_options,
    store_for,
    until,
)

CONTROLLER_USER, CONTROLLER_SECRET = "doorstep-controller", "controller-secret-0123456789"


def _device_acl(config: UspConfig, eid: str) -> tuple[str, ...]:
    """What the production ACL grants one device (ADR 0009), with its id spelt out."""
    return (
        f"write {config.mqtt_controller_topic}/{eid}",
        f"write {config.mqtt_controller_topic}/{eid}/#",
        f"write {config.mqtt_response_topic}/+/{eid}",
        f"write {config.mqtt_response_topic}/+/{eid}/#",
        f"read {config.mqtt_agent_topic}/{eid}",
        f"read {config.mqtt_agent_topic}/{eid}/#",
    )


def _users(config: UspConfig, agents: list[SimAgent]) -> dict[str, tuple[str, tuple[str, ...]]]:
    root = config.mqtt_controller_topic.rsplit("/", 1)[0]
    # Mosquitto 2.0 checks a shared subscription against its full $share/… filter.
    grants: tuple[str, ...] = (f"write {root}/#", f"read {root}/#", f"read $share/+/{root}/#")
    users: dict[str, tuple[str, tuple[str, ...]]] = {CONTROLLER_USER: (CONTROLLER_SECRET, grants)}
    users.update({a.endpoint_id: (a.secret, _device_acl(config, a.endpoint_id)) for a in agents})
    return users


@pytest.mark.clause("CPE-IV.1.a")
def test_each_device_logs_in_with_its_own_secret_and_cannot_speak_for_another(
    spawn_broker: Any,
) -> None:
    probe = net_config(1)
    agents = agents_for(probe, 3)
    alice, bob, mallory = agents
    config: UspConfig = probe
    broker = spawn_broker(_users(probe, [alice, bob]))  # mallory is not provisioned
    url = f"mqtt://{CONTROLLER_USER}:{CONTROLLER_SECRET}@127.0.0.1:{broker.port}"
    config = probe.replace(mqtt_url=url)
    options = mqtt_options(config, broker.port, use_credentials=True)
    impostor = SimAgent(
        bob.profile, controller_id=config.controller_id, secret="not-bobs-secret-at-all"
    )

    def spoofed(sender: str) -> bytes:
        msg = messages.get("spoof-1", "Device.")
        return encode_record(wrap(msg, to_id=config.controller_id, from_id=sender))

    async def scenario() -> None:
        audit = NullAuditSink()
        async with (
            mqtt_controller(config, store_for(agents), audit=audit) as (controller, _),
            fleet([alice, bob], options),
        ):
            reply = await controller.get(alice.endpoint_id, "Device.DeviceInfo.SerialNumber")
            assert reply.values["Device.DeviceInfo.SerialNumber"] == alice.profile.serial_number

            # A wrong secret, or no account at the broker: no connection at all.
            async with fleet([impostor, mallory], options, onboard=False):
                await asyncio.sleep(1.0)
                assert impostor.sessions == 0
                assert mallory.sessions == 0

            async with aiomqtt.Client(
                "127.0.0.1",
                broker.port,
                username=alice.endpoint_id,
                password=alice.secret,
                protocol=aiomqtt.ProtocolVersion.V5,
            ) as alice_raw:
                # Alice claims to be Bob on her own topic: the broker lets it through,
                # the controller sees from_id != the topic's (authenticated) id.
                own = f"{config.mqtt_controller_topic}/{alice.endpoint_id}"
                await alice_raw.publish(own, spoofed(bob.endpoint_id), qos=1)
                # On Bob's topic the broker's ACL stops her before the controller.
                bobs = f"{config.mqtt_controller_topic}/{bob.endpoint_id}"
                await alice_raw.publish(bobs, spoofed(bob.endpoint_id), qos=1)
            await until(lambda: controller.counters["dropped_identity_mismatch"] == 1)
            await asyncio.sleep(0.3)
            assert controller.counters["dropped_identity_mismatch"] == 1
            assert controller.counters["answers_unmatched"] == 0
            assert [r.reason for r in audit.events] == ["identity_mismatch"]
            assert audit.events[0].endpoint == alice.endpoint_id

            reply = await controller.get(bob.endpoint_id, "Device.DeviceInfo.SerialNumber")
            assert reply.values["Device.DeviceInfo.SerialNumber"] == bob.profile.serial_number

    run(scenario())
    bobs_topic = f"{config.mqtt_controller_topic}/{bob.endpoint_id}"
    denied = [line for line in broker.log().splitlines() if "Denied PUBLISH" in line]
    assert any(f"'{bobs_topic}'" in line for line in denied)


@pytest.mark.parametrize(
    "v5", [pytest.param(True, id="mqtt5"), pytest.param(False, id="mqtt3.1.1")]
)
def test_controller_and_agents_reconnect_after_a_broker_restart(
    spawn_broker: Any, v5: bool
) -> None:
    broker = spawn_broker()
    config = net_config(broker.port, mqtt_version="5" if v5 else "3.1.1", mqtt_shared_group="")
    agents = agents_for(config, 2)

    async def scenario() -> None:
        async with (
            mqtt_controller(config, store_for(agents)) as (controller, transport),
            fleet(agents, mqtt_options(config, broker.port, v5=v5)),
        ):
            before = await controller.get(agents[0].endpoint_id, "Device.DeviceInfo.SerialNumber")
            assert before.values
            sessions = [a.sessions for a in agents]

            await asyncio.to_thread(broker.kill)
            await until(lambda: not transport.connected.is_set())
            await asyncio.sleep(0.5)
            await asyncio.to_thread(broker.start)  # same port, empty broker

            await until(transport.connected.is_set, timeout=20)
            await until(
                lambda: all(a.sessions > s for a, s in zip(agents, sessions, strict=True)), 20
            )
            assert transport.sessions == 2
            for agent in agents:
                reply = await controller.get(agent.endpoint_id, "Device.DeviceInfo.SerialNumber")
                assert reply.values["Device.DeviceInfo.SerialNumber"] == agent.profile.serial_number

    run(scenario())
