"""Talking to Mosquitto's dynamic-security plugin through its control topic.

Commands go as ``{"commands": [...]}`` to ``$CONTROL/dynamic-security/v1``; the
plugin answers ``{"responses": [...]}`` on ``…/v1/response``, one response per
command, in order, each with an ``error`` when it failed.  The account used needs
the ACL to publish to the one and subscribe to the other (an administrator's, not
the controller's).  Nothing here logs a command: they carry device secrets.
"""

from __future__ import annotations

import asyncio
import json
import ssl
from collections.abc import Sequence
from typing import Any

import aiomqtt

from doorstep.core.errors import DoorstepError
from doorstep.devices.broker.dynsec import BrokerState, Command
from doorstep.usp.config import MqttBroker

CONTROL_TOPIC = "$CONTROL/dynamic-security/v1"
RESPONSE_TOPIC = CONTROL_TOPIC + "/response"
_BATCH = 100


class BrokerCommandError(DoorstepError):
    """The broker refused a command, or did not answer; names commands, never values."""


async def exchange(
    broker: MqttBroker, commands: Sequence[Command], *, timeout: float = 15.0
) -> list[dict[str, Any]]:
    """Send ``commands`` (in batches) and return the responses; raise on any error."""
    responses: list[dict[str, Any]] = []
    tls = ssl.create_default_context() if broker.tls else None
    try:
        async with aiomqtt.Client(
            broker.host,
            broker.port,
            username=broker.username,
            password=broker.password,
            tls_context=tls,
            protocol=aiomqtt.ProtocolVersion.V5,
        ) as client:
            await client.subscribe(RESPONSE_TOPIC, qos=1)
            for start in range(0, len(commands), _BATCH):
                batch = list(commands[start : start + _BATCH])
                await client.publish(CONTROL_TOPIC, json.dumps({"commands": batch}), qos=1)
                responses += await asyncio.wait_for(_answer(client, len(batch)), timeout)
    except aiomqtt.MqttError:
        raise BrokerCommandError("the broker refused the connection or went away") from None
    except TimeoutError:
        raise BrokerCommandError(
            "the broker did not answer on the dynamic-security control topic (is the "
            "plugin loaded, and may this account use $CONTROL/dynamic-security/v1?)"
        ) from None
    failed = [r for r in responses if r.get("error")]
    if failed:
        names = ", ".join(sorted({f"{r.get('command')}: {r.get('error')}" for r in failed}))
        raise BrokerCommandError(f"{len(failed)} broker commands failed ({names})")
    return responses


async def _answer(client: aiomqtt.Client, count: int) -> list[dict[str, Any]]:
    collected: list[dict[str, Any]] = []
    async for message in client.messages:
        try:
            data = json.loads(bytes(message.payload))
        except ValueError:
            continue
        collected += list(data.get("responses", []))
        if len(collected) >= count:
            break
    return collected


async def broker_state(broker: MqttBroker) -> BrokerState:
    """The broker's clients and roles (verbose ``listClients`` and ``listRoles``)."""
    clients, roles = await exchange(
        broker,
        [
            {"command": "listClients", "verbose": True, "count": -1},
            {"command": "listRoles", "verbose": True, "count": -1},
        ],
    )
    return BrokerState.from_responses(clients.get("data", {}), roles.get("data", {}))
