"""Controller CPU per USP round trip, charged to the controller's own process.

* One Mosquitto of the bench's own on loopback (``bench._usp_broker``).
* 1,000 simulated agents (500 in a quick run) in a process of their own
  (``doorstep.usp.agent_sim.cli``), non-strict: they answer every Get.
* Three requesters, each in a process of its own (``bench._usp_requesters``): the
  Doorstep controller (what ``doorstep controller`` runs: Controller + MqttTransport,
  MQTT 5, shared subscription) and, as baselines, a plain paho-mqtt client on its own
  network thread and a plain aiomqtt client.  Each sends the same Get of
  ``Device.DeviceInfo.`` with 64 in flight, round-robin over the agents, and waits
  for each answer by msg_id.  They take turns (never two at once), ``ROUNDS`` turns
  each, and the figure is each one's best turn.
* Charged apart: the CPU time of the requester's process (``getrusage``, every thread),
  of the agents' process and of the broker (``/proc/<pid>/stat``), between the
  requester's ``start`` and its result; so the figure does not depend on how much of
  the two cores the load driver takes.
* Notify: every agent sends ``Periodic!`` each second (NotifRetry, so the controller
  answers each with a NotifyResp, hooks are the null ones); the controller's CPU over
  a window, per Notify handled.
* Memory: the bytes of the controller's per-agent tables (addresses, the known-endpoint
  cache, traffic times, connected set) per connected agent, counted object by object.

The database the harness provides is not used.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench._usp_broker import cpu_seconds, mosquitto_binary, start_broker, stop, stop_broker
from bench.harness import ROOT, BenchContext, Figure

ROUNDS = 2
TARGET = "<= 0.3 ms"
KINDS = ("doorstep", "paho", "aiomqtt")


@dataclass(frozen=True)
class Turn:
    """One measured turn of one requester."""

    done: int
    cpu: float
    wall: float
    agents_cpu: float
    broker_cpu: float

    @property
    def ms_each(self) -> float:
        """Requester CPU milliseconds per round trip (or per Notify)."""
        return self.cpu / self.done * 1e3


class Requester:
    """A requester process spoken to by lines of text."""

    def __init__(self, kind: str, port: int, endpoints: Path, credentials: Path) -> None:
        self.kind = kind
        self.process = subprocess.Popen(
            [sys.executable, "-m", "bench._usp_requesters", kind, str(port), str(endpoints),
             str(credentials)],
            cwd=ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
            env={**os.environ, "DOORSTEP_LOG_LEVEL": "WARNING"},
        )  # fmt: skip
        self.read()  # ready

    def read(self) -> dict[str, Any]:
        """The next JSON line from the process."""
        assert self.process.stdout is not None
        line = self.process.stdout.readline()
        if not line:
            raise RuntimeError(f"the {self.kind} requester ended early")
        return dict(json.loads(line))

    def ask(self, command: str) -> None:
        """Send one command line."""
        assert self.process.stdin is not None
        self.process.stdin.write(command + "\n")
        self.process.stdin.flush()

    def turn(self, command: str, agents: int, broker: int) -> Turn:
        """Run a measured command; charge the agents' and the broker's CPU meanwhile."""
        self.ask(command)
        self.read()  # start
        agents_cpu, broker_cpu = cpu_seconds(agents), cpu_seconds(broker)
        result = self.read()
        return Turn(
            int(result["done"]),
            float(result["cpu"]),
            float(result["wall"]),
            cpu_seconds(agents) - agents_cpu,
            cpu_seconds(broker) - broker_cpu,
        )

    def close(self) -> None:
        """Ask the process to end; stop it if it does not."""
        if self.process.poll() is None:
            self.ask("quit")
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                stop(self.process, signal.SIGKILL)


def run(ctx: BenchContext) -> list[Figure]:
    """Start broker, controller and agents; measure each requester in turn; stop all."""
    mosquitto = mosquitto_binary()
    if mosquitto is None:
        print("bench usp_cpu: Mosquitto not installed; skipped", file=sys.stderr)
        return []
    count = 500 if ctx.quick else 1_000
    gets = 5_000 if ctx.quick else 20_000
    window = 5.0 if ctx.quick else 10.0
    with tempfile.TemporaryDirectory(prefix="doorstep-bench-usp-cpu-") as scratch:
        return _measure(Path(scratch), mosquitto, count, gets, window)


def _measure(scratch: Path, mosquitto: str, count: int, gets: int, window: float) -> list[Figure]:
    broker, port = start_broker(mosquitto, scratch)
    credentials, endpoints = scratch / "credentials.json", scratch / "endpoints.json"
    agents: subprocess.Popen[str] | None = None
    requesters: dict[str, Requester] = {}
    try:
        # the controller first, so that it takes every agent's Connect Record
        requesters["doorstep"] = Requester("doorstep", port, endpoints, credentials)
        agents = subprocess.Popen(
            [sys.executable, "-m", "doorstep.usp.agent_sim.cli", "--count", str(count),
             "--mtp", "mqtt", "--url", f"mqtt://127.0.0.1:{port}", "--anonymous",
             "--credentials-file", str(credentials), "--report", "--hosts", "3",
             "--duration", "3600"],
            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
            env={**os.environ, "DOORSTEP_LOG_LEVEL": "WARNING"},
        )  # fmt: skip
        report = _report(agents)
        endpoints.write_text(json.dumps(sorted(json.loads(credentials.read_text())["endpoints"])))
        controller = requesters["doorstep"]
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            controller.ask("agents")
            if controller.read()["agents"] >= report["connected"]:
                break
            time.sleep(0.5)
        for kind in KINDS[1:]:
            requesters[kind] = Requester(kind, port, endpoints, credentials)
        turns: dict[str, list[Turn]] = {kind: [] for kind in KINDS}
        for _ in range(ROUNDS):
            for kind in KINDS:
                turns[kind].append(requesters[kind].turn(f"gets {gets}", agents.pid, broker.pid))
        controller.ask("tables")
        tables = controller.read()
        notify = controller.turn(f"notify {window}", agents.pid, broker.pid)
    finally:
        for requester in requesters.values():
            requester.close()
        stop(agents, signal.SIGINT)
        stop_broker(broker)
    best = {kind: min(turns[kind], key=lambda turn: turn.ms_each) for kind in KINDS}
    return _figures(best, notify, tables, report["connected"], count)


def _report(agents: subprocess.Popen[str]) -> dict[str, int]:
    assert agents.stdout is not None
    for line in agents.stdout:
        if line.startswith("{"):
            return dict(json.loads(line))
    raise RuntimeError("the agent simulator ended without a report")


def _figures(
    best: dict[str, Turn], notify: Turn, tables: dict[str, int], connected: int, count: int
) -> list[Figure]:
    ours, paho, aio = best["doorstep"], best["paho"], best["aiomqtt"]
    load = f"{connected}/{count} agents, 64 in flight, {ours.done} Gets, best of {ROUNDS} turns"

    def per_get(turn: Turn, cpu: float) -> float:
        return cpu / turn.done * 1e3

    return [
        Figure(
            "controller CPU per Get round trip (own process)",
            ours.ms_each,
            "ms",
            TARGET,
            baseline=paho.ms_each,
            baseline_name="plain paho-mqtt, threaded loop",
            note=load,
        ),
        Figure(
            "controller CPU per Get round trip (own process)",
            ours.ms_each,
            "ms",
            TARGET,
            baseline=aio.ms_each,
            baseline_name="plain aiomqtt",
        ),
        Figure(
            "Get round trips per second of controller CPU",
            1e3 / ours.ms_each,
            "Gets/CPU-s",
            ">= 3,000",
            baseline=1e3 / paho.ms_each,
            baseline_name="plain paho-mqtt",
        ),
        Figure(
            "Gets/s during the controller's turn (whole system, 2 cores)",
            ours.done / ours.wall,
            "Gets/s",
            baseline=paho.done / paho.wall,
            baseline_name="during paho's turn",
        ),
        Figure(
            "simulated agents' CPU per Get (their own process)",
            per_get(ours, ours.agents_cpu),
            "ms",
            baseline=per_get(paho, paho.agents_cpu),
            baseline_name="during paho's turn",
        ),
        Figure(
            "broker CPU per Get (Mosquitto)",
            per_get(ours, ours.broker_cpu),
            "ms",
            baseline=per_get(paho, paho.broker_cpu),
            baseline_name="during paho's turn",
        ),
        Figure(
            "controller CPU per Notify handled (NotifyResp sent)",
            notify.ms_each,
            "ms",
            note=f"Periodic! every second from each agent: {notify.done / notify.wall:,.0f}/s",
        ),
        Figure(
            "controller memory per connected agent, from its tables",
            tables["bytes"] / max(tables["agents"], 1),
            "B",
            note=f"{tables['agents']} agents: addresses, known cache, traffic, connected set",
        ),
    ]
