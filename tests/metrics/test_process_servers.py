"""``--metrics-port``: the worker's and the controller's own metrics servers."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
from pydantic import SecretStr

from doorstep.core.runtime import Runtime
from doorstep.devices.controller_cli import _serve_metrics
from tests.cli_run import doorstep
from tests.conftest import database_url_of
from tests.metrics.helpers import value
from tests.workers import newest_worker, wait_registered

TOKEN = "worker-metrics-token-0123456789"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _scrape(port: int, token: str | None, deadline: float) -> httpx.Response:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    while True:
        try:
            return httpx.get(f"http://127.0.0.1:{port}/metrics", headers=headers, timeout=5)
        except httpx.TransportError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)


def test_the_worker_serves_its_metrics_on_its_port(committed: Runtime, tmp_path: Path) -> None:
    port = _free_port()
    env = {
        **os.environ,
        "DOORSTEP_ENV": "test",
        "DOORSTEP_DATABASE_URL": database_url_of(committed.settings),
        "DOORSTEP_DATA_DIR": str(tmp_path),
        "DOORSTEP_METRICS_TOKEN": TOKEN,
    }
    log = tmp_path / "worker.log"
    newest = newest_worker(committed)
    with log.open("wb") as output:
        worker = subprocess.Popen(
            [sys.executable, "-m", "doorstep", "worker", "--metrics-port", str(port)],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=output,
        )
    try:
        deadline = time.monotonic() + 60
        refused = _scrape(port, None, deadline)
        assert refused.status_code == 401
        assert "doorstep_" not in refused.text
        answer = _scrape(port, TOKEN, deadline)
        assert answer.status_code == 200, log.read_text()
        assert value(answer.text, "doorstep_metrics_database_up") == 1
        # The worker's own periodic jobs may be waiting: the gauge is there, its value moves.
        assert (
            value(answer.text, "doorstep_job_queue_depth", queue="default", state="todo")
            is not None
        )
        # Stopped once it runs jobs: Ctrl-C then stops it gracefully (exit 0).
        wait_registered(worker, committed, newest, log)
    finally:
        worker.send_signal(signal.SIGINT)
        try:
            worker.wait(timeout=30)
        except subprocess.TimeoutExpired:
            worker.kill()
            worker.wait()
    assert worker.returncode == 0, (worker.returncode, log.read_text())


def test_the_controller_serves_its_own_metrics_without_the_database_gauges(
    runtime: Runtime,
) -> None:
    settings = runtime.settings.model_copy(update={"metrics_token": SecretStr(TOKEN)})
    server = _serve_metrics(settings, 0)
    try:
        assert server.server.server_address[0] == "127.0.0.1"  # metrics_bind
        deadline = time.monotonic() + 10
        assert _scrape(server.port, "wrong", deadline).status_code == 401
        text = _scrape(server.port, TOKEN, deadline).text
    finally:
        server.close()
    assert value(text, "doorstep_usp_agents_connected") is not None
    assert "# TYPE doorstep_usp_request_duration_seconds histogram" in text
    assert "doorstep_job_queue_depth" not in text


def test_a_taken_metrics_port_is_refused_before_the_worker_starts(database_url: str) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = doorstep(
            "worker", "--metrics-port", str(port), env={"DOORSTEP_DATABASE_URL": database_url}
        )
    assert result.returncode == 1
    assert f"port {port} on 127.0.0.1 is already in use" in result.stderr
    assert "--metrics-port" in result.stderr
