"""Bad traffic over MQTT is dropped and audited, and other agents do not notice."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator

import aiomqtt
import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from doorstep.audit.models import AuditEvent
from doorstep.core.runtime import Runtime
from doorstep.usp import Disconnect, messages, parse_record
from doorstep.usp.agent_sim import make_agents
from doorstep.usp.controller import RuntimeAuditSink, endpoint_ref
from doorstep.usp.records import Record, SessionContext, encode_record, wrap
from tests.usp_net.conftest import net_config, run
from tests.usp_net.helpers import (
    agents_for,
    fleet,
    mqtt_controller,
    mqtt_options,
    store_for,
    until,
)


@contextlib.asynccontextmanager
async def raw_client(port: int, subscribe: str | None = None) -> AsyncIterator[aiomqtt.Client]:
    """A plain MQTT 5 client, as a misbehaving device would use."""
    async with aiomqtt.Client(
        "127.0.0.1", port, protocol=aiomqtt.ProtocolVersion.V5, timeout=10
    ) as client:
        if subscribe:
            await client.subscribe(subscribe, qos=1)
        yield client


def _audited(db: Session) -> list[dict[str, object]]:
    rows = db.execute(sa.select(AuditEvent.action, AuditEvent.details)).all()
    return [{"action": action, **details} for action, details in rows]


@pytest.mark.clause("CPE-IV.1.a")
@pytest.mark.clause("CPE-IV.2.a")
def test_garbage_and_strangers_are_dropped_and_audited_while_others_are_served(
    broker: int, runtime: Runtime, db: Session, caplog: pytest.LogCaptureFixture
) -> None:
    config = net_config(broker, max_record_size=4096)
    agents = agents_for(config, 2)
    good, noisy = agents
    stranger = make_agents(1, controller_id=config.controller_id)[0]  # not registered
    key = runtime.settings.secret_key.get_secret_value().encode()
    topic = f"{config.mqtt_controller_topic}/{noisy.endpoint_id}"
    caplog.set_level(logging.INFO, logger="doorstep.usp")

    def record_from(sender: str, to: str = config.controller_id) -> bytes:
        msg = messages.get("x-1", "Device.")
        return encode_record(wrap(msg, to_id=to, from_id=sender))

    async def scenario() -> None:
        audit = RuntimeAuditSink(runtime, repeat_seconds=0)
        async with (
            mqtt_controller(config, store_for(agents), audit=audit) as (controller, _),
            fleet([good], mqtt_options(config, broker)),
            raw_client(broker) as attacker,
        ):
            bad = {
                "garbage": b"\x0a\xff\xff not a record",
                "oversized": b"\x00" * 5000,
                "wrong_recipient": record_from(noisy.endpoint_id, to="self::someone-else"),
                "identity_mismatch": record_from(good.endpoint_id),  # noisy's topic, good's id
            }
            for payload in bad.values():
                await attacker.publish(topic, payload, qos=1)
            await attacker.publish(
                f"{config.mqtt_controller_topic}/{stranger.endpoint_id}",
                record_from(stranger.endpoint_id),
                qos=1,
            )
            for _ in range(20):  # and the good agent is served all along
                reply = await controller.get(good.endpoint_id, "Device.DeviceInfo.SerialNumber")
                assert reply.values["Device.DeviceInfo.SerialNumber"] == good.profile.serial_number
            await until(lambda: controller.counters["dropped_unknown_endpoint"] == 1)
            for reason in bad:
                assert controller.counters[f"dropped_{reason}"] == 1, reason
            await audit.drain()
            await audit.aclose()

    run(scenario())
    events = _audited(db)
    by_reason = {e["reason"]: e for e in events}
    assert set(by_reason) == {
        "garbage",
        "oversized",
        "wrong_recipient",
        "identity_mismatch",
        "unknown_endpoint",
    }
    assert by_reason["unknown_endpoint"]["action"] == "usp.endpoint_refused"
    assert by_reason["unknown_endpoint"]["endpoint"] == endpoint_ref(stranger.endpoint_id, key)
    assert by_reason["garbage"]["action"] == "usp.record_dropped"
    assert by_reason["garbage"]["usp_code"] == 7100
    assert all(e["mtp"] == "mqtt" for e in events)
    # Endpoint IDs embed serial numbers: the trail and the log hold only keyed hashes.
    text = repr(events) + caplog.text
    for agent in (good, noisy, stranger):
        assert agent.endpoint_id not in text
        assert agent.profile.serial_number not in text


def test_a_session_context_record_is_refused_with_a_disconnect(broker: int) -> None:
    config = net_config(broker)
    device = agents_for(config, 1)[0]  # a registered device, driven by hand
    own_topic = f"{config.mqtt_agent_topic}/{device.endpoint_id}"

    async def scenario() -> Record:
        async with (
            mqtt_controller(config, store_for([device])) as (controller, _),
            raw_client(broker, subscribe=own_topic) as client,
        ):
            record = Record(config.controller_id, device.endpoint_id, SessionContext(1, 1, 1))
            await client.publish(
                f"{config.mqtt_controller_topic}/{device.endpoint_id}",
                encode_record(record),
                qos=1,
            )
            async with asyncio.timeout(10):
                async for message in client.messages:
                    answer = parse_record(bytes(message.payload), max_size=65536)
                    assert controller.counters["sessions_refused"] == 1
                    return answer
        raise AssertionError("no answer")

    answer = run(scenario())
    assert isinstance(answer.body, Disconnect)
    assert answer.body.reason_code == 7106
    assert (answer.to_id, answer.from_id) == (device.endpoint_id, config.controller_id)
