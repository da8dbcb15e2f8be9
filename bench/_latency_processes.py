"""The processes the end-to-end benches talk to: real ``serve``s, ``worker``s and controllers.

:func:`served` starts ``python -m doorstep serve`` processes, each on a free
loopback port with settings of its own, and one ``python -m doorstep worker``
beside them, all on the bench's database and data directory (so they unwrap the
fleet's subject keys), waits until every ``/readyz`` answers 200 and the worker
has registered in ``procrastinate_workers``, yields the base URLs and stops them
all (SIGINT, as Ctrl-C does) when done.  Their output goes to a log file in the
data directory; its end is in the error when one fails to start.

:func:`started` does the same with ``workers`` workers (ready once that many have
registered) and ``controllers`` ``python -m doorstep controller`` processes (ready
once running: the bench waits for its devices to register), and yields
:class:`Processes`, whose process ids let a bench charge CPU time to each kind.
"""

from __future__ import annotations

import contextlib
import os
import random
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import sqlalchemy as sa

from bench.harness import BenchContext

#: The environment variable naming another checkout's ``src/`` for the processes to run
#: (this bench's own code still measures the core alone): how a "before" is measured.
OTHER_SRC = "DOORSTEP_BENCH_SRC"
#: Seconds a process gets to start (migrations are already applied) and to stop.
START_SECONDS = 60.0
STOP_SECONDS = 30.0


def _ephemeral_low() -> int:
    """The lowest port the kernel gives outgoing connections (Linux; 32768 elsewhere)."""
    try:
        return int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return 32768


def _free_ports(count: int) -> list[int]:
    """``count`` distinct free loopback ports (all probes are held until all are known).

    Taken below the ephemeral range, so that no outgoing connection (the bench's own
    clients, the processes' database connections) takes one before its serve binds it.
    """
    if not count:  # workers only
        return []
    candidates = random.sample(range(10_000, max(_ephemeral_low(), 10_000 + count)), k=count * 20)
    with contextlib.ExitStack() as stack:
        found: list[int] = []
        for port in candidates:
            probe = stack.enter_context(socket.socket())
            try:
                probe.bind(("127.0.0.1", port))
            except OSError:
                continue
            found.append(port)
            if len(found) == count:
                return found
    raise RuntimeError("no free loopback port below the ephemeral range")


def _environment(ctx: BenchContext, settings: Mapping[str, str]) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DOORSTEP_")}
    if os.environ.get(OTHER_SRC):  # another checkout's code in the processes, e.g. a "before"
        env["PYTHONPATH"] = os.pathsep.join(
            filter(None, [os.environ[OTHER_SRC], os.environ.get("PYTHONPATH")])
        )
    env.update(
        DOORSTEP_ENV="test",
        DOORSTEP_DATABASE_URL=ctx.database_url,
        DOORSTEP_DATA_DIR=str(ctx.runtime.settings.data_dir),
        **settings,
    )
    return env


def _start(args: list[str], env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    with log.open("ab") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "doorstep", *args], env=env, stdout=out, stderr=out
        )


def _stop(processes: list[subprocess.Popen[bytes]]) -> None:
    """SIGINT to every process at once; each still running :data:`STOP_SECONDS` later is killed."""
    for process in processes:
        if process.poll() is None:
            process.send_signal(signal.SIGINT)
    deadline = time.monotonic() + STOP_SECONDS
    for process in processes:
        try:
            process.wait(max(0.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _wait_ready(
    ctx: BenchContext, urls: list[str], processes: list[subprocess.Popen[bytes]], workers: int = 1
) -> None:
    deadline = time.monotonic() + START_SECONDS
    ready = registered = False
    while not (ready and registered):
        for process in processes:
            if process.poll() is not None:
                raise RuntimeError(f"{process.args!r} exited with {process.returncode}")
        if time.monotonic() > deadline:
            raise RuntimeError("serve or worker did not start in time")
        with contextlib.suppress(httpx.TransportError):
            ready = all(httpx.get(f"{url}/readyz", timeout=1).status_code == 200 for url in urls)
        with ctx.engine.connect() as connection:
            found = connection.scalar(sa.text("SELECT count(*) FROM procrastinate_workers"))
            registered = int(found or 0) >= workers
        time.sleep(0.05)


def log_of(ctx: BenchContext) -> Path:
    """The file the processes write their output to."""
    return Path(ctx.runtime.settings.data_dir) / "bench-latency.log"


def fallbacks(ctx: BenchContext) -> int:
    """How many requests the serves handed back to the worker (a budget passed, an error)."""
    log = log_of(ctx)
    text = log.read_text(errors="replace") if log.exists() else ""
    return text.count("not carried out at once")


@dataclass
class Processes:
    """What :func:`started` runs: the serves' base URLs and every process by kind."""

    urls: list[str]
    serves: list[subprocess.Popen[bytes]] = field(default_factory=list)
    workers: list[subprocess.Popen[bytes]] = field(default_factory=list)
    controllers: list[subprocess.Popen[bytes]] = field(default_factory=list)

    def pids(self) -> dict[str, list[int]]:
        """``{"serve": [...], "worker": [...], "controller": [...]}``: the process ids."""
        return {
            "serve": [p.pid for p in self.serves],
            "worker": [p.pid for p in self.workers],
            "controller": [p.pid for p in self.controllers],
        }


@contextlib.contextmanager
def started(
    ctx: BenchContext,
    common: Mapping[str, str],
    serves: list[Mapping[str, str]],
    *,
    workers: int = 1,
    controllers: int = 0,
) -> Iterator[Processes]:
    """One ``serve`` per item of ``serves``, ``workers`` workers and ``controllers`` controllers.

    Every process gets the ``common`` settings (``DOORSTEP_*``); each serve its own too.
    """
    log = log_of(ctx)
    ports = _free_ports(len(serves))
    running = Processes([f"http://127.0.0.1:{port}" for port in ports])
    try:
        for port, own in zip(ports, serves, strict=True):
            env = _environment(ctx, {**common, **own})
            running.serves.append(_start(["serve", "--port", str(port)], env, log))
        env = _environment(ctx, common)
        running.workers.extend(_start(["worker"], env, log) for _ in range(workers))
        running.controllers.extend(_start(["controller"], env, log) for _ in range(controllers))
        everything = running.serves + running.workers + running.controllers
        try:
            _wait_ready(ctx, running.urls, everything, workers)
        except RuntimeError as exc:
            tail = log.read_text(errors="replace")[-2000:] if log.exists() else ""
            raise RuntimeError(f"{exc}; their output ends:\n{tail}") from None
        yield running
    finally:
        _stop(running.serves + running.workers + running.controllers)


@contextlib.contextmanager
def served(
    ctx: BenchContext, common: Mapping[str, str], serves: list[Mapping[str, str]]
) -> Iterator[list[str]]:
    """One ``serve`` per item of ``serves`` and one ``worker``; the serves' base URLs.

    Every process gets the ``common`` settings (``DOORSTEP_*``); each serve its own too.
    """
    with started(ctx, common, serves) as running:
        yield running.urls
