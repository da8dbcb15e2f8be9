"""Simulated agents in processes of their own, for the fault tests (``test_faults_*``).

One Python process holds 500 agents comfortably; the broker-restart test runs two, so
the thousand agents, the controller under test and Mosquitto share the machine's cores
as production would share machines.

* The test builds the agents (:func:`doorstep.usp.agent_sim.make_agents`), provisions
  them in the inventory, and hands a share to each :class:`AgentProcess`: the spec file
  names the broker, the topics and each agent's profile index, secret and claim code,
  from which the process builds the same agents again.
* The process (``python -m tests.devices.fault_agents SPEC STATUS``) keeps them
  connected until SIGTERM, and writes STATUS (JSON, replaced atomically) every
  :data:`EVERY` seconds and once more when it stops: per agent its sessions and the
  Sets it applied per msg_id (:attr:`SimAgent.sets_applied`).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import signal
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from doorstep.usp.agent_sim import MqttOptions, SimAgent, SimTiming, make_profile, run_fleet

EVERY = 0.5
"""Seconds between two status files."""
ROOT = Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class AgentStatus:
    """What one agent process last reported of one agent."""

    sessions: int
    applied: dict[str, int]


class AgentProcess:
    """A process of simulated agents; :meth:`status` reads its last report."""

    def __init__(
        self,
        agents: Sequence[SimAgent],
        batch: str,
        options: MqttOptions,
        directory: Path,
        *,
        strict: bool = True,
        hosts: int = 3,
    ) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        self.spec = directory / "spec.json"
        self.status_file = directory / "status.json"
        self.log = directory / "agents.log"
        indexes = [int(a.profile.serial_number[len(batch) :]) for a in agents]
        spec = {
            "batch": batch,
            "hosts": hosts,
            "strict": strict,
            "controller_id": agents[0].controller_id,
            "options": {
                "host": options.host,
                "port": options.port,
                "v5": options.v5,
                "controller_topic": options.controller_topic,
                "agent_topic": options.agent_topic,
                "reconnect_min": options.reconnect_min,
                "reconnect_max": options.reconnect_max,
            },
            "agents": [
                [index, a.secret, a.claim_code] for index, a in zip(indexes, agents, strict=True)
            ],
        }
        self.spec.write_text(json.dumps(spec))
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        """Start the process (its output goes to ``agents.log``)."""
        with self.log.open("ab") as out:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "tests.devices.fault_agents", str(self.spec),
                 str(self.status_file)],
                cwd=ROOT, stdout=out, stderr=subprocess.STDOUT,
            )  # fmt: skip

    def status(self) -> dict[str, AgentStatus]:
        """Endpoint id -> the last status reported (empty before the first report)."""
        try:
            data = json.loads(self.status_file.read_text())
        except (OSError, ValueError):
            return {}
        return {eid: AgentStatus(*row) for eid, row in data.items()}

    def stop(self) -> dict[str, AgentStatus]:
        """Stop the agents (SIGTERM; killed after 30 s) and return their final status."""
        process = self.process
        if process is not None and process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(10)
        return self.status()

    def output(self) -> str:
        """What the process printed (for failure messages)."""
        return self.log.read_text(errors="replace")[-3000:] if self.log.exists() else ""


def _write(agents: Sequence[SimAgent], path: Path) -> None:
    data = {a.endpoint_id: [a.sessions, dict(a.sets_applied)] for a in agents}
    temporary = path.with_name(path.name + ".tmp")
    temporary.write_text(json.dumps(data))
    temporary.replace(path)


def _agents(spec: dict[str, Any]) -> list[SimAgent]:
    timing = SimTiming(onboard_retry=1.0, reboot=0.05)
    return [
        SimAgent(
            make_profile(index, spec["batch"], hosts=spec["hosts"]),
            controller_id=spec["controller_id"],
            secret=secret,
            claim_code=claim_code,
            timing=timing,
            strict=spec["strict"],
        )
        for index, secret, claim_code in spec["agents"]
    ]


async def _main(spec_path: Path, status: Path) -> None:
    spec = json.loads(spec_path.read_text())
    agents = _agents(spec)
    options = MqttOptions(**spec["options"], use_credentials=False)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    loop.add_signal_handler(signal.SIGTERM, stop.set)
    fleet = asyncio.create_task(run_fleet(agents, options, stop, connect_concurrency=100))
    while not stop.is_set():
        _write(agents, status)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), EVERY)
    await asyncio.wait_for(fleet, 20)
    _write(agents, status)


def main() -> None:
    """``python -m tests.devices.fault_agents SPEC STATUS``."""
    started = time.monotonic()
    asyncio.run(_main(Path(sys.argv[1]), Path(sys.argv[2])))
    print(f"fault agents: stopped after {time.monotonic() - started:.1f} s", flush=True)


if __name__ == "__main__":
    main()
