"""The processes the end-to-end latency bench talks to: real ``serve``s and a real ``worker``.

:func:`served` starts ``python -m doorstep serve`` processes, each on a free
loopback port with settings of its own, and one ``python -m doorstep worker``
beside them, all on the bench's database and data directory (so they unwrap the
fleet's subject keys), waits until every ``/readyz`` answers 200 and the worker
has registered in ``procrastinate_workers``, yields the base URLs and stops them
all (SIGINT, as Ctrl-C does) when done.  Their output goes to a log file in the
data directory; its end is in the error when one fails to start.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
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


def _free_ports(count: int) -> list[int]:
    """``count`` distinct free loopback ports (all probes are held until all are known)."""
    with contextlib.ExitStack() as stack:
        probes = [stack.enter_context(socket.socket()) for _ in range(count)]
        for probe in probes:
            probe.bind(("127.0.0.1", 0))
        return [int(probe.getsockname()[1]) for probe in probes]


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


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(STOP_SECONDS)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _wait_ready(
    ctx: BenchContext, urls: list[str], processes: list[subprocess.Popen[bytes]]
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
            registered = bool(
                connection.scalar(sa.text("SELECT count(*) FROM procrastinate_workers"))
            )
        time.sleep(0.05)


def log_of(ctx: BenchContext) -> Path:
    """The file the processes write their output to."""
    return Path(ctx.runtime.settings.data_dir) / "bench-latency.log"


def fallbacks(ctx: BenchContext) -> int:
    """How many requests the serves handed back to the worker (a budget passed, an error)."""
    log = log_of(ctx)
    text = log.read_text(errors="replace") if log.exists() else ""
    return text.count("not carried out at once")


@contextlib.contextmanager
def served(
    ctx: BenchContext, common: Mapping[str, str], serves: list[Mapping[str, str]]
) -> Iterator[list[str]]:
    """One ``serve`` per item of ``serves`` and one ``worker``; the serves' base URLs.

    Every process gets the ``common`` settings (``DOORSTEP_*``); each serve its own too.
    """
    log = log_of(ctx)
    ports = _free_ports(len(serves))
    urls = [f"http://127.0.0.1:{port}" for port in ports]
    processes: list[subprocess.Popen[bytes]] = []
    try:
        for port, own in zip(ports, serves, strict=True):
            env = _environment(ctx, {**common, **own})
            processes.append(_start(["serve", "--port", str(port)], env, log))
        processes.append(_start(["worker"], _environment(ctx, common), log))
        try:
            _wait_ready(ctx, urls, processes)
        except RuntimeError as exc:
            tail = log.read_text(errors="replace")[-2000:] if log.exists() else ""
            raise RuntimeError(f"{exc}; their output ends:\n{tail}") from None
        yield urls
    finally:
        for process in processes:
            _stop(process)
