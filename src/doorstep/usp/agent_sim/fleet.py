"""Many simulated routers and gateways in one event loop.

:func:`make_agents` builds N devices with distinct, valid ``os::<OUI>-<Serial>``
Endpoint IDs (a random batch prefix keeps concurrent fleets apart), their own random
secret, a random claim secret (:func:`doorstep.usp.claims.new_claim_code`, the
"factory" of the simulator) and a few connected hosts each; even indexes are
routers, odd ones gateways.  :func:`write_credentials` writes the hashes of their
secrets and claim secrets (never the secrets themselves): the controller reads the
former, and in development the device inventory imports both on a device's first
sign-in (:mod:`doorstep.devices.credentials`); :func:`run_fleet` keeps them all
connected over MQTT or WebSocket until told to stop, opening at most
``connect_concurrency`` connections at once.
"""

from __future__ import annotations

import asyncio
import json
import os
import secrets
from collections.abc import Sequence
from pathlib import Path

from doorstep.usp.agent_sim._conditions import SimConditions, SimTiming
from doorstep.usp.agent_sim._mqtt import MqttOptions, run_mqtt_agent
from doorstep.usp.agent_sim._websocket import WebSocketOptions, run_websocket_agent
from doorstep.usp.agent_sim.agent import SimAgent
from doorstep.usp.agent_sim.datamodel import Host, Profile
from doorstep.usp.claims import claim_digest, new_claim_code
from doorstep.usp.credentials import hash_secret, new_device_secret, write_credentials_file

SIM_OUI = "02D00C"
"""A locally administered OUI: no real manufacturer's."""
SIM_HASH_LOG_N = 10
"""scrypt cost of simulator credentials: cheap, so 1,000 devices register in a second."""
_HOST_KINDS = ("laptop", "phone", "tv", "printer", "tablet", "console")


def make_profile(index: int, batch: str, *, hosts: int = 3) -> Profile:
    """Device ``index`` of batch ``batch`` (a short upper-case hex prefix)."""
    gateway = index % 2 == 1
    serial = f"{batch}{index:07d}"
    low = (index >> 16) & 0xFF, (index >> 8) & 0xFF, index & 0xFF
    tail = ":".join(f"{b:02x}" for b in low)
    return Profile(
        endpoint_id=f"os::{SIM_OUI}-{serial}",
        oui=SIM_OUI,
        serial_number=serial,
        product_class="gateway" if gateway else "router",
        model_name="DG-2000" if gateway else "DR-1000",
        software_version="2.4.1" if gateway else "1.8.3",
        hardware_version="B2" if gateway else "A1",
        wan_mac=f"02:d0:0c:{tail}",
        lan_mac=f"06:d0:0c:{tail}",
        wan_ip=f"100.64.{low[1]}.{max(low[2], 1)}",
        ssid=f"home-{index:04d}",
        ppp_username=f"subscriber{index:05d}",
        hosts=tuple(
            Host(
                f"{_HOST_KINDS[(index + k) % len(_HOST_KINDS)]}-{k + 1}",
                f"0a:{low[0]:02x}:{low[1]:02x}:{low[2]:02x}:00:{k + 1:02x}",
                f"192.168.1.{100 + k}",
                active=k != 2,
            )
            for k in range(hosts)
        ),
    )


def make_agents(
    count: int,
    *,
    controller_id: str,
    start: int = 0,
    batch: str | None = None,
    hosts: int = 3,
    timing: SimTiming | None = None,
    strict: bool = False,
    conditions: SimConditions | None = None,
) -> list[SimAgent]:
    """``count`` agents with their own secrets and claim codes (``strict``: like real ones).

    ``timing`` and ``conditions`` (clock, seed, failure rates) are shared by all of them.
    """
    batch = batch or secrets.token_hex(3).upper()
    return [
        SimAgent(
            make_profile(index, batch, hosts=hosts),
            controller_id=controller_id,
            secret=new_device_secret(),
            claim_code=new_claim_code(),
            timing=timing,
            strict=strict,
            conditions=conditions,
        )
        for index in range(start, start + count)
    ]


def write_credentials(agents: Sequence[SimAgent], path: Path) -> None:
    """The hashes of the agents' secrets, as a credentials file the controller reads.

    Beside ``endpoints`` (the secret hashes) the file holds ``claims``: the SHA-256 of
    each claim secret, so a development inventory can import the devices.
    """
    write_credentials_file(
        path, ((a.endpoint_id, hash_secret(a.secret, log_n=SIM_HASH_LOG_N)) for a in agents)
    )
    data = json.loads(path.read_text(encoding="utf-8"))
    data["claims"] = {a.endpoint_id: claim_digest(a.claim_code).hex() for a in agents}
    temporary = path.with_name(path.name + ".tmp")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
        handle.write(json.dumps(data, indent=1))
    temporary.replace(path)


async def run_fleet(
    agents: Sequence[SimAgent],
    options: MqttOptions | WebSocketOptions,
    stop: asyncio.Event,
    *,
    connect_concurrency: int = 50,
) -> None:
    """Run every agent until ``stop`` is set; connections open ``connect_concurrency`` at once."""
    gate = asyncio.Semaphore(connect_concurrency)

    async def one(agent: SimAgent) -> None:
        async with gate:
            first = asyncio.create_task(_run(agent, options, stop))
            await _connected_or_done(agent, first)
        await first

    await asyncio.gather(*(one(agent) for agent in agents))


async def _run(
    agent: SimAgent, options: MqttOptions | WebSocketOptions, stop: asyncio.Event
) -> None:
    if isinstance(options, MqttOptions):
        await run_mqtt_agent(agent, options, stop)
    else:
        await run_websocket_agent(agent, options, stop)


async def _connected_or_done(agent: SimAgent, task: asyncio.Task[None], limit: float = 10) -> None:
    """Wait until the agent's first session started (or it ended, or ``limit`` s passed)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + limit
    while agent.sessions == 0 and not task.done() and loop.time() < deadline:
        await asyncio.sleep(0.01)
