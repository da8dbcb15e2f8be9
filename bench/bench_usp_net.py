"""USP over MQTT: Get round trips per second of the whole system, memory per agent.

A whole-system figure: the controller (this process), the simulated agents and the
broker share the machine's cores, so the rate says what the three do together, not
what the controller costs; ``bench_usp_cpu`` charges each process its own CPU time
and compares the controller with plain paho-mqtt and aiomqtt requesters.

* A Mosquitto of our own on a free loopback port, configured as ADR 0009 advises for
  production (``set_tcp_nodelay true``; anonymous here: credentials are not the figure).
* 1,000 simulated agents (500 in a quick run) in a separate process
  (``python -m doorstep.usp.agent_sim.cli``), which reports its resident memory per
  connected agent.
* This process runs one controller (MQTT 5, shared subscription) and keeps 64 Gets of
  ``Device.DeviceInfo.`` in flight, round-robin over the agents, for a bounded count
  and time.  The controller's resident-memory growth per known agent is measured too
  (noisy: allocator arenas; ``bench_usp_cpu`` counts the controller's tables instead).

Everything is loopback and stops by itself.  The database the harness provides is
not used (no refusal is expected, so nothing is audited).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import pwd
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.harness import ROOT, BenchContext, Figure, percentile
from doorstep.usp.config import UspConfig
from doorstep.usp.controller import Controller, NullAuditSink
from doorstep.usp.credentials import JsonFileCredentialStore
from doorstep.usp.mtp.mqtt import MqttTransport

IN_FLIGHT = 64
TIME_LIMIT = 30.0


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _rss() -> int:
    return int(Path("/proc/self/statm").read_text().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def run(ctx: BenchContext) -> list[Figure]:
    """Start broker and agents, measure, stop everything."""
    mosquitto = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
    if not Path(mosquitto).exists():
        print("bench usp_net: Mosquitto not installed; skipped", file=sys.stderr)
        return []
    count = 500 if ctx.quick else 1_000
    requests = 5_000 if ctx.quick else 20_000
    with tempfile.TemporaryDirectory(prefix="doorstep-bench-usp-") as scratch:
        return asyncio.run(_measure(Path(scratch), mosquitto, count, requests))


async def _measure(scratch: Path, mosquitto: str, count: int, requests: int) -> list[Figure]:
    port = _free_port()
    conf = scratch / "mosquitto.conf"
    conf.write_text(
        f"listener {port} 127.0.0.1\nallow_anonymous true\npersistence false\n"
        f"set_tcp_nodelay true\nmax_queued_messages 10000\n"
        f"user {pwd.getpwuid(os.getuid()).pw_name}\n"
    )
    broker = subprocess.Popen([mosquitto, "-c", str(conf)], stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.2):
            break
        await asyncio.sleep(0.05)
    credentials = scratch / "credentials.json"
    config = UspConfig(
        mqtt_url=f"mqtt://127.0.0.1:{port}",
        credentials_file=credentials,
        request_timeout=20,
        traffic_hook_interval=3600,
    )
    env = {
        **os.environ,
        "DOORSTEP_USP_MQTT_URL": config.mqtt_url,
        "DOORSTEP_USP_CREDENTIALS_FILE": str(credentials),
        "DOORSTEP_LOG_LEVEL": "WARNING",
    }
    agents: subprocess.Popen[str] | None = None
    rss_start = _rss()
    controller = Controller(
        config, credentials=JsonFileCredentialStore(credentials), audit=NullAuditSink()
    )
    transport = MqttTransport(controller)
    mqtt = asyncio.create_task(transport.run())
    try:
        await asyncio.wait_for(transport.connected.wait(), 10)
        rss_before_agents = _rss()
        agents = subprocess.Popen(
            [sys.executable, "-m", "doorstep.usp.agent_sim.cli", "--count", str(count),
             "--mtp", "mqtt", "--anonymous", "--report", "--hosts", "3",
             "--duration", str(TIME_LIMIT * 4)],
            cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
        )  # fmt: skip
        report = await asyncio.wait_for(asyncio.to_thread(_report, agents), 120)
        endpoints = sorted(json.loads(credentials.read_text())["endpoints"])
        deadline = time.monotonic() + 30
        while len(controller.agents) < report["connected"] and time.monotonic() < deadline:
            await asyncio.sleep(0.1)
        await controller.settle()
        controller_per_agent = (_rss() - rss_before_agents) / max(len(controller.agents), 1)

        latencies = []
        for eid in endpoints[:200]:
            started = time.perf_counter()
            await controller.get(eid, "Device.DeviceInfo.")
            latencies.append(time.perf_counter() - started)
        done, rate = await _throughput(controller, endpoints, requests)
    finally:
        mqtt.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await mqtt
        await controller.aclose()
        for process in (agents, broker):
            if process is not None and process.poll() is None:
                process.send_signal(signal.SIGINT if process is agents else signal.SIGTERM)
                try:
                    process.wait(15)
                except subprocess.TimeoutExpired:
                    process.kill()
    note = f"{report['connected']}/{count} agents, {IN_FLIGHT} in flight, {done} Gets"
    return [
        Figure(
            "Get round trips, whole system: controller, agents, broker on one machine (MQTT 5)",
            rate,
            "Gets/s",
            note=note,
        ),
        Figure("Get latency, one at a time, p50", percentile(latencies, 50) * 1e3, "ms"),
        Figure("Get latency, one at a time, p99", percentile(latencies, 99) * 1e3, "ms"),
        Figure(
            "simulator memory per connected agent",
            report["bytes_per_agent"] / 1024,
            "KiB",
            note="RSS delta / agents, agent process",
        ),
        Figure(
            "controller RSS growth per known agent",
            controller_per_agent / 1024,
            "KiB",
            note=f"RSS delta / agents; controller at start {rss_start / 2**20:.0f} MiB",
        ),
    ]


def _report(agents: subprocess.Popen[str]) -> dict[str, int]:
    assert agents.stdout is not None
    for line in agents.stdout:
        if line.startswith("{"):
            return dict(json.loads(line))
    raise RuntimeError("the agent simulator ended without a report")


async def _throughput(
    controller: Controller, endpoints: list[str], total: int
) -> tuple[int, float]:
    counter = iter(range(total))
    done = 0
    stop_at = time.monotonic() + TIME_LIMIT

    async def worker() -> None:
        nonlocal done
        for n in counter:
            if time.monotonic() > stop_at:
                return
            await controller.get(endpoints[n % len(endpoints)], "Device.DeviceInfo.")
            done += 1

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(IN_FLIGHT)))
    return done, done / (time.perf_counter() - started)
