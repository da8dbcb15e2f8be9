"""Start-up figures of the foundation: demo cold start (fresh and warm) and CLI start.

The demo is started as a real subprocess on the embedded PostgreSQL with its own
data directory; the clock runs from process start to the first 200 of /readyz.
"fresh" includes initdb and every migration; "warm" reuses the data directory.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

from bench.harness import BenchContext, Figure, timed


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _demo_until_ready(data_dir: Path) -> float:
    env = {k: v for k, v in os.environ.items() if k != "DOORSTEP_DATABASE_URL"}
    env["DOORSTEP_DATA_DIR"] = str(data_dir)
    port = _free_port()
    started = time.perf_counter()
    process = subprocess.Popen(
        [sys.executable, "-m", "doorstep", "demo", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        while time.perf_counter() - started < 120:
            if process.poll() is not None:
                raise RuntimeError("demo exited before it was ready")
            try:
                if httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=1).status_code == 200:
                    return time.perf_counter() - started
            except httpx.TransportError:
                pass
            time.sleep(0.02)
        raise RuntimeError("demo did not become ready in 120 s")
    finally:
        process.send_signal(signal.SIGINT)
        process.wait(60)


def run(ctx: BenchContext) -> list[Figure]:
    """Cold start fresh, warm start (best of 3), and `doorstep --version`."""
    with tempfile.TemporaryDirectory(prefix="doorstep-bench-") as scratch:
        data_dir = Path(scratch) / "data"
        fresh = _demo_until_ready(data_dir)
        warm = min(_demo_until_ready(data_dir) for _ in range(1 if ctx.quick else 3))
    version = min(
        timed(
            lambda: subprocess.run(
                [sys.executable, "-m", "doorstep", "--version"], check=True, capture_output=True
            )
        )
        for _ in range(3)
    )
    return [
        Figure("demo ready, fresh data dir (initdb + migrations)", fresh, "s"),
        Figure("demo ready, warm data dir", warm, "s"),
        Figure("`doorstep --version`", version, "s"),
    ]
