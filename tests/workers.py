"""Real ``doorstep worker`` processes for the tests that kill them at random points.

The requests, incidents, policy-notice and connector fan-out tests each start
workers, wait until one has registered, SIGKILL it at a seeded random moment and
start the next; a last worker then drains the queue.  This module holds what they
share: starting a worker, waiting for its registration, waiting for a condition,
and the kill loop itself (:func:`kill_at_random`).
"""

from __future__ import annotations

import random
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest
import sqlalchemy as sa

from doorstep.core.runtime import Runtime


def start_worker(
    env: dict[str, str], log: Path, *, concurrency: int = 2
) -> subprocess.Popen[bytes]:
    """A ``doorstep worker`` process with ``env``; its error output is appended to ``log``."""
    with log.open("ab") as output:
        return subprocess.Popen(
            [sys.executable, "-m", "doorstep", "worker", "--concurrency", str(concurrency)],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=output,
        )


def newest_worker(runtime: Runtime) -> int:
    """The id of the newest worker Procrastinate has registered (0: none yet)."""
    with runtime.engine.connect() as connection:
        return int(
            connection.execute(
                sa.text("SELECT coalesce(max(id), 0) FROM procrastinate_workers")
            ).scalar_one()
        )


def wait_registered(
    worker: subprocess.Popen[bytes], runtime: Runtime, newest: int, log: Path
) -> None:
    """Wait until ``worker`` has registered; fail with its error output if it died first."""
    deadline = time.monotonic() + 60
    while newest_worker(runtime) <= newest:
        if worker.poll() is not None:
            pytest.fail(f"the worker exited: {log.read_text()[-2000:]}")
        assert time.monotonic() < deadline, "no worker registered within a minute"
        time.sleep(0.02)


def wait_until(condition: Callable[[], object], timeout: float) -> bool:
    """Poll ``condition`` every 20 ms until it is true (True) or ``timeout`` passes (False)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.02)
    return False


def kill_at_random(
    runtime: Runtime,
    env: dict[str, str],
    log: Path,
    *,
    pending: Callable[[], int],
    kills: int,
    rng: random.Random,
    after_progress: bool = False,
    delay: tuple[float, float] = (0.05, 0.5),
) -> int:
    """Start and SIGKILL up to ``kills`` workers while ``pending()`` work is left.

    Each worker is killed a random ``delay`` after it registered (with
    ``after_progress``, after it first made ``pending()`` fall).  Returns how many
    kills landed mid-run (some work done by the killed worker, some left).
    """
    interrupted = 0
    for _ in range(kills):
        before = pending()
        if before == 0:
            break
        newest = newest_worker(runtime)
        worker = start_worker(env, log)
        try:
            wait_registered(worker, runtime, newest, log)
            if after_progress:
                wait_until(lambda w=worker, b=before: pending() < b or w.poll() is not None, 60)
            time.sleep(rng.uniform(*delay))
            worker.send_signal(signal.SIGKILL)
            worker.wait(timeout=30)
        finally:
            if worker.poll() is None:
                worker.kill()
        interrupted += 0 < pending() < before
        time.sleep(0.6)  # the dead worker's heartbeat goes stale; the next one requeues its job
    return interrupted
