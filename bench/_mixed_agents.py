"""The mixed-load bench's simulated routers: provisioned here, run in a process of their own.

:func:`make` builds the devices (:mod:`doorstep.usp.agent_sim`: a batch prefix of
our own, so the same endpoint ids can be rebuilt from it), :func:`provision` puts
them into the inventory as ``doorstep devices import`` does (hashes only), and
:func:`running` runs them over MQTT in ``python -m bench._mixed_agents <spec>``
until the block ends, so that their CPU is not the load driver's and can be
charged apart.  The spec is a JSON file (0600, in the bench's scratch directory)
with the batch, the controller id, the broker and topics, and each device's index,
secret and claim code: the simulator needs the secrets, the inventory only their
hashes.  The process runs until SIGINT or SIGTERM, then closes every session.

Once they run, :func:`wait_registered` waits until the registry has every device
online, :func:`bind` binds each to its subscriber through the API, and
:func:`reachable` waits until each answers a live status through every serve (the
first contact's set-up is over by then, and a fresh serve has warmed up).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import secrets
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import asdict
from pathlib import Path

import httpx
import sqlalchemy as sa

from bench._mixed_load import Subscriber
from bench._usp_broker import stop
from doorstep.core.runtime import Runtime
from doorstep.devices.inventory import FactoryRecord, import_records, installation_key
from doorstep.usp.agent_sim import MqttOptions, SimAgent, make_agents, make_profile, run_fleet
from doorstep.usp.agent_sim.fleet import SIM_HASH_LOG_N


def make(count: int, controller_id: str, batch: str | None = None) -> tuple[str, list[SimAgent]]:
    """``count`` simulated devices (even: router, odd: gateway) of one batch, and the batch."""
    batch = batch or secrets.token_hex(3).upper()
    return batch, make_agents(count, controller_id=controller_id, batch=batch)


def provision(runtime: Runtime, agents: Sequence[SimAgent]) -> None:
    """Put the devices into the inventory (secret and claim hashes), in one transaction."""
    records = [FactoryRecord(a.endpoint_id, a.secret, a.claim_code) for a in agents]
    with runtime.sessions.begin() as session:
        import_records(
            session,
            records,
            key=installation_key(runtime.settings),
            now=runtime.clock.now(),
            log_n=SIM_HASH_LOG_N,
        )


def wait_registered(runtime: Runtime, endpoint_ids: list[str], limit: float) -> None:
    """Wait until every device is registered and online (RuntimeError after ``limit`` s)."""
    deadline = time.monotonic() + limit
    query = sa.text(
        "SELECT count(*) FROM device_registrations WHERE endpoint_id = ANY(:ids) AND online"
    )
    while True:
        with runtime.engine.connect() as connection:
            online = int(connection.scalar(query, {"ids": endpoint_ids}) or 0)
        if online == len(endpoint_ids):
            return
        if time.monotonic() > deadline:
            raise RuntimeError(f"{online} of {len(endpoint_ids)} devices registered in time")
        time.sleep(0.5)


async def bind(
    client: httpx.AsyncClient, owners: list[str], agents: Sequence[SimAgent]
) -> list[Subscriber]:
    """Bind each device to the owner of the same index (their tokens), through the API."""
    bound = []
    for token, agent in zip(owners, agents, strict=True):
        headers = {"Authorization": f"Bearer {token}"}
        body = {"claim_code": agent.claim_code}
        answer = await client.post("/api/v1/devices/bindings", json=body, headers=headers)
        if answer.status_code != 201:
            raise RuntimeError(f"binding answered {answer.status_code}: {answer.text[:300]}")
        bound.append(Subscriber(token, uuid.UUID(answer.json()["device_id"])))
    return bound


async def reachable(found: list[httpx.AsyncClient], owners: list[Subscriber], limit: float) -> None:
    """Wait until every owner's device answers a live status through every serve."""
    deadline = time.monotonic() + limit
    for owner, client in ((o, c) for o in owners for c in found):
        path = f"/api/v1/devices/{owner.device_id}/status"
        headers = {"Authorization": f"Bearer {owner.token}"}
        while (answer := await client.get(path, headers=headers)).status_code != 200:
            if time.monotonic() > deadline:
                raise RuntimeError(
                    f"live status answered {answer.status_code}: {answer.text[:300]}"
                )
            await asyncio.sleep(0.2)


def _write_spec(path: Path, batch: str, agents: Sequence[SimAgent], options: MqttOptions) -> None:
    spec = {
        "batch": batch,
        "controller_id": agents[0].controller_id,
        "options": asdict(options),
        "devices": [
            {
                "index": int(a.profile.serial_number.removeprefix(batch)),
                "secret": a.secret,
                "claim_code": a.claim_code,
            }
            for a in agents
        ],
    }
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
        json.dump(spec, handle)


@contextlib.contextmanager
def running(
    scratch: Path, batch: str, agents: Sequence[SimAgent], options: MqttOptions, log: Path
) -> Iterator[subprocess.Popen[bytes]]:
    """The devices connected through ``options`` in a process of their own, meanwhile."""
    spec = scratch / "mixed-agents.json"
    _write_spec(spec, batch, agents, options)
    with log.open("ab") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "bench._mixed_agents", str(spec)], stdout=out, stderr=out
        )
    try:
        yield process
    finally:
        stop(process, signal.SIGINT)


def _agents(spec: dict[str, object]) -> tuple[list[SimAgent], MqttOptions]:
    batch, controller_id = str(spec["batch"]), str(spec["controller_id"])
    devices = spec["devices"]
    options = spec["options"]
    assert isinstance(devices, list) and isinstance(options, dict)
    agents = [
        SimAgent(
            make_profile(int(d["index"]), batch),
            controller_id=controller_id,
            secret=str(d["secret"]),
            claim_code=str(d["claim_code"]),
        )
        for d in devices
    ]
    return agents, MqttOptions(**options)


async def _run(agents: list[SimAgent], options: MqttOptions) -> None:
    stop_event = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop_event.set)
    await run_fleet(agents, options, stop_event)


def main(argv: list[str] | None = None) -> int:
    """Run the devices of the spec file named by the one argument until SIGINT or SIGTERM."""
    args = sys.argv[1:] if argv is None else argv
    spec = json.loads(Path(args[0]).read_text(encoding="utf-8"))
    agents, options = _agents(spec)
    print(f"mixed agents: {len(agents)} devices over mqtt {options.host}:{options.port}")
    asyncio.run(_run(agents, options))
    print("mixed agents: stopped")
    return 0


if __name__ == "__main__":
    sys.exit(main())
