"""Firmware rollout throughput: devices updated per minute through one controller.

* A Mosquitto of our own on a free loopback port (as ``bench_usp_net``).
* 1,000 strict simulated agents (200 in a quick run) in a separate process
  (``python -m doorstep.usp.agent_sim.cli --strict``), download and activation time
  zero, reboot 2.5 s (so a lost Boot! is found by the executor's uptime check); they
  sign in to the inventory from the simulator's credentials file (development mode).
* This process runs what ``doorstep controller`` runs: the USP controller with the
  registry's hooks and the fleet executor (``fleet_executor_concurrency`` 128), plus the
  worker's fleet sweep every 2 s on a thread.
* **Baseline, same run, same executor:** a plain ``reboot`` operation on every device
  (Operate Reboot(), the device's Boot!), at most 128 open at once: reboots per minute.
* **Figure:** one rollout of the image on every device (canary 1 %, waves growing x3,
  128 in flight per wave), from start to the last device settled: devices per minute.
  Each firmware update is a Get, Download(), TransferComplete!, Activate(), the reboot,
  Boot! and a registration read, plus the rollout's bookkeeping in the executor's
  final transaction; the waves also wait for each other.

The agent set-up is what a rollout needs (subscriptions Boot! and TransferComplete!,
no last will), so the onboarding of the fleet stays short; it is not measured.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import os
import pwd
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path
from typing import Any

import sqlalchemy as sa

import doorstep.wiring  # noqa: F401  (the composition root: services, every origin and task)
from bench.harness import ROOT, BenchContext, Figure
from doorstep.core.database import make_session_factory
from doorstep.core.runtime import Runtime
from doorstep.devices.fleet.image_models import FirmwareImage
from doorstep.devices.fleet.operations import OperationKind, OriginKind, queue_operations
from doorstep.devices.fleet.records import Reach
from doorstep.devices.fleet.rollout_models import RolloutState
from doorstep.devices.fleet.rollout_plan import RolloutSpec, TargetFilter
from doorstep.devices.fleet.rollout_views import rollout_view
from doorstep.devices.fleet.rollouts import create_rollout, start_rollout
from doorstep.devices.fleet.sweep import fleet_sweep
from doorstep.devices.mount import controller_parts, start_fleet
from doorstep.usp.config import UspConfig
from doorstep.usp.runner import run_mqtt_controller

ACTOR = "system:bench"
IN_FLIGHT = 128
"""Devices updating (or rebooting) at once, in the rollout and in the baseline."""
SETTINGS = {
    "fleet_executor_concurrency": 128,
    "fleet_poll_seconds": 0.2,
    "fleet_check_seconds": 3.0,
    "device_request_timeout_seconds": 20,
    "device_last_will": False,
    "device_subscriptions": ("boot", "transfer_complete"),
}


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def run(ctx: BenchContext) -> list[Figure]:
    """Start broker, agents and controller; measure reboots, then a rollout."""
    mosquitto = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
    if not Path(mosquitto).exists():
        print("bench rollouts: Mosquitto not installed; skipped", file=sys.stderr)
        return []
    count = 200 if ctx.quick else 1_000
    with tempfile.TemporaryDirectory(prefix="doorstep-bench-rollouts-") as scratch:
        return asyncio.run(_measure(ctx, Path(scratch), mosquitto, count))


def _broker(scratch: Path, mosquitto: str) -> tuple[subprocess.Popen[bytes], int]:
    port = _free_port()
    conf = scratch / "mosquitto.conf"
    conf.write_text(
        f"listener {port} 127.0.0.1\nallow_anonymous true\npersistence false\n"
        f"set_tcp_nodelay true\nmax_queued_messages 10000\n"
        f"user {pwd.getpwuid(os.getuid()).pw_name}\n"
    )
    broker = subprocess.Popen(
        [mosquitto, "-c", str(conf)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.2):
            break
        time.sleep(0.05)
    return broker, port


def _agents(config: UspConfig, credentials: Path, count: int) -> subprocess.Popen[str]:
    env = {
        **os.environ,
        "DOORSTEP_USP_MQTT_URL": config.mqtt_url,
        "DOORSTEP_USP_CREDENTIALS_FILE": str(credentials),
        "DOORSTEP_LOG_LEVEL": "WARNING",
    }
    return subprocess.Popen(
        [sys.executable, "-m", "doorstep.usp.agent_sim.cli", "--count", str(count),
         "--mtp", "mqtt", "--anonymous", "--strict", "--report", "--hosts", "0",
         "--reboot-seconds", "2.5", "--download-seconds", "0", "--activation-seconds", "0",
         "--duration", "900"],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
    )  # fmt: skip


def _report(agents: subprocess.Popen[str]) -> dict[str, int]:
    assert agents.stdout is not None
    for line in agents.stdout:
        if line.startswith("{"):
            return dict(json.loads(line))
    raise RuntimeError("the agent simulator ended without a report")


def _scalar(runtime: Runtime, sql: str, **params: Any) -> Any:
    with runtime.engine.connect() as connection:
        return connection.execute(sa.text(sql), params).scalar_one()


async def _until(check: Any, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not await asyncio.to_thread(check):
        if time.monotonic() > deadline:
            raise RuntimeError(f"bench rollouts: {what} did not happen in {timeout:g} s")
        await asyncio.sleep(0.2)


def _sweeping(runtime: Runtime, stop: threading.Event) -> None:
    while not stop.wait(2.0):
        with contextlib.suppress(Exception):
            fleet_sweep(runtime)


async def _measure(ctx: BenchContext, scratch: Path, mosquitto: str, count: int) -> list[Figure]:
    clock = ctx.runtime.clock
    # a data folder of its own: the keyring of this run, the simulator's credentials
    settings = ctx.runtime.settings.model_copy(update={**SETTINGS, "data_dir": scratch / "data"})
    runtime = Runtime(
        settings, ctx.database_url, ctx.engine, make_session_factory(ctx.engine, clock), clock
    )
    broker, port = _broker(scratch, mosquitto)
    credentials = scratch / "credentials.json"
    config = UspConfig(
        mqtt_url=f"mqtt://127.0.0.1:{port}", credentials_file=credentials, request_timeout=20
    )
    try:
        store, hooks = controller_parts(runtime, config)
    except Exception:
        broker.terminate()
        broker.wait(10)
        raise
    tasks: list[asyncio.Task[None]] = []

    def started(controller: Any, _transport: object) -> None:
        hooks.attach(controller)
        task = start_fleet(hooks, controller, lambda: Reach(mqtt=True))
        if task is not None:
            tasks.append(task)

    main = asyncio.create_task(
        run_mqtt_controller(runtime, config, credentials=store, hooks=hooks, started=started)
    )
    stop = threading.Event()
    sweeper = threading.Thread(target=_sweeping, args=(runtime, stop), daemon=True)
    sweeper.start()
    agents: subprocess.Popen[str] | None = None
    try:
        await asyncio.sleep(1.0)  # the controller subscribes before the agents' first words
        agents = _agents(config, credentials, count)
        report = await asyncio.wait_for(asyncio.to_thread(_report, agents), 180)
        await _registered(runtime, hooks, report["connected"])
        device_ids = [
            uuid.UUID(str(d))
            for d in (
                await asyncio.to_thread(
                    lambda: _all(runtime, "SELECT device_id FROM device_registrations")
                )
            )
        ]
        reboots = await _reboots(runtime, device_ids)
        rollout = await _rollout(runtime, device_ids)
    finally:
        stop.set()
        for task in (*tasks, main):
            task.cancel()
        await asyncio.gather(*tasks, main, return_exceptions=True)
        for process in (agents, broker):
            if process is not None and process.poll() is None:
                process.send_signal(signal.SIGINT if process is agents else signal.SIGTERM)
                try:
                    process.wait(15)
                except subprocess.TimeoutExpired:
                    process.kill()
    per_minute, waves, failed = rollout
    note = (
        f"{len(device_ids)} strict agents in another process; waves {waves}; 128 in flight; "
        f"{failed} failed"
    )
    return [
        Figure(
            "firmware rollout, devices updated per minute (one controller, download time 0)",
            per_minute,
            "devices/min",
            baseline=reboots,
            baseline_name="reboot operations, same executor",
            note=note,
        )
    ]


async def _registered(runtime: Runtime, hooks: Any, count: int) -> None:
    """Wait for every agent's registration; read again the ones a connect storm lost.

    A thousand first contacts within seconds time out some registration reads, and a
    strict agent does not ask again; the set-up of the bench reads those once more.
    """
    missing = "SELECT endpoint_id FROM device_registrations WHERE firmware_version IS NULL"
    deadline = time.monotonic() + 300
    gate = asyncio.Semaphore(16)

    async def read(endpoint_id: str) -> None:
        async with gate:
            await hooks.refresh(endpoint_id, quiet=True, force=True)

    while True:
        known = await asyncio.to_thread(
            _scalar, runtime, "SELECT count(*) FROM device_registrations"
        )
        lost = await asyncio.to_thread(_all, runtime, missing)
        if known >= count and not lost:
            return
        if time.monotonic() > deadline:
            raise RuntimeError(f"bench rollouts: {len(lost)} agents not registered")
        await asyncio.gather(*(read(eid) for eid in lost))
        await asyncio.sleep(1.0)


def _all(runtime: Runtime, sql: str) -> list[Any]:
    with runtime.engine.connect() as connection:
        return list(connection.execute(sa.text(sql)).scalars())


async def _reboots(runtime: Runtime, device_ids: list[uuid.UUID]) -> float:
    """Reboot every device through the executor, at most IN_FLIGHT open at once; per minute."""
    open_reboots = (
        "SELECT count(*) FROM device_operations WHERE kind = 'reboot' "
        "AND state IN ('queued', 'running', 'waiting')"
    )
    waiting = list(device_ids)
    started = time.monotonic()
    while True:
        busy = await asyncio.to_thread(_scalar, runtime, open_reboots)
        if not waiting and not busy:
            break
        batch, waiting = waiting[: IN_FLIGHT - busy], waiting[IN_FLIGHT - busy :]
        if batch:
            with runtime.sessions.begin() as session:
                queue_operations(
                    session, batch, OperationKind.REBOOT, {}, purpose="device.maintenance",
                    actor=ACTOR, origin_kind=OriginKind.SINGLE, origin_id=None,
                    clock=runtime.clock,
                )  # fmt: skip
        if time.monotonic() - started > 900:
            raise RuntimeError("bench rollouts: the reboots did not end in 15 min")
        await asyncio.sleep(0.1)
    return len(device_ids) / (time.monotonic() - started) * 60


async def _rollout(runtime: Runtime, device_ids: list[uuid.UUID]) -> tuple[float, list[int], int]:
    """One rollout on every device; devices per minute, the wave sizes, the failures."""
    url = "http://firmware.bench/sim/fw-9.0.0.bin"
    with runtime.sessions.begin() as session:
        image = FirmwareImage(
            id=uuid.uuid4(), version="9.0.0", models=["DR-1000", "DG-2000"], size=len(url),
            sha256=hashlib.sha256(url.encode()).hexdigest(), url=url, release_notes="",
            created_at=runtime.clock.now(), created_by=ACTOR,
        )  # fmt: skip
        session.add(image)
        session.flush()
        spec = RolloutSpec(
            name="bench", image_id=image.id, target=TargetFilter(device_ids=tuple(device_ids)),
            canary_percent=1.0, growth=3.0, max_in_flight=IN_FLIGHT, failure_threshold=100,
            deadline_seconds=300,
        )  # fmt: skip
        rollout_id = create_rollout(session, spec, actor=ACTOR, clock=runtime.clock).id
    started = time.monotonic()
    with runtime.sessions.begin() as session:
        start_rollout(session, rollout_id, actor=ACTOR, clock=runtime.clock)

    def finished() -> bool:
        with runtime.sessions() as session:
            view = rollout_view(session, rollout_id)
        return view.state is RolloutState.FINISHED and not view.counts.in_flight

    await _until(finished, 900, "the rollout")
    elapsed = time.monotonic() - started
    with runtime.sessions() as session:
        view = rollout_view(session, rollout_id)
    return (
        view.counts.settled / elapsed * 60,
        [w.counts.size for w in view.waves],
        view.counts.failed,
    )
