"""No personal data in logs: a marker e-mail sent through requests appears in no log line."""

from __future__ import annotations

import io
import json
import logging
import os
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient

from doorstep.asgi import create_app
from doorstep.core.logging import configure_logging, scrub
from doorstep.core.runtime import Runtime
from doorstep.core.settings import LogFormat, load_settings


def _marker() -> str:
    return f"canary.{uuid.uuid4().hex[:10]}@example.org"


@pytest.fixture
def captured(runtime: Runtime) -> Iterator[io.StringIO]:
    stream = io.StringIO()
    root = logging.getLogger()
    saved = (list(root.handlers), root.level)
    configure_logging(runtime.settings.model_copy(update={"log_level": "DEBUG"}), stream)
    yield stream
    root.handlers[:] = saved[0]
    root.setLevel(saved[1])


@pytest.mark.parametrize("fmt", [LogFormat.JSON, LogFormat.CONSOLE])
def test_careless_log_calls_are_scrubbed(fmt: LogFormat) -> None:
    stream = io.StringIO()
    root = logging.getLogger()
    saved = (list(root.handlers), root.level)
    marker = _marker()
    try:
        configure_logging(load_settings(log_format=fmt, log_level="DEBUG"), stream)
        log = logging.getLogger("doorstep.careless")
        log.info("signing up %s from +44 20 7946 0958 at 203.0.113.9", marker)
        log.info("device", extra={"mac": "AA:BB:CC:00:11:22", "who": marker})
        try:
            raise ValueError(f"bad address {marker}")
        except ValueError:
            log.exception("failed")
    finally:
        root.handlers[:] = saved[0]
        root.setLevel(saved[1])
    output = stream.getvalue()
    assert output.count("\n") >= 3, "the lines must have been written"
    for secret in (marker, "7946 0958", "203.0.113.9", "AA:BB:CC:00:11:22"):
        assert secret not in output
    assert "<email>" in output and "<phone>" in output and "<mac>" in output and "<ip>" in output
    if fmt is LogFormat.JSON:
        assert all(
            json.loads(line)["level"] for line in output.splitlines() if line.startswith("{")
        )


def test_scrub_keeps_ids_and_loopback() -> None:
    line = "job 42 subject 550e8400-e29b-41d4-a716-446655440000 on 127.0.0.1:8000"
    assert scrub(line) == line


def test_marker_through_requests_is_in_no_log_line(runtime: Runtime, captured: io.StringIO) -> None:
    marker = _marker()
    app = create_app(runtime)

    @app.post("/_signup")
    def signup(body: dict[str, str]) -> dict[str, bool]:
        logging.getLogger("doorstep.signup").info("new sign-up for %s", body["email"])
        raise RuntimeError(f"could not sign up {body['email']}")

    with TestClient(app, raise_server_exceptions=False) as client:
        client.get(
            f"/accounts/{marker}", params={"email": marker}, headers={"x-request-id": marker}
        )
        client.post("/_signup", json={"email": marker})
        client.post("/healthz", json={"email": marker})
    output = captured.getvalue()
    assert "/_signup" in output, "the access log must have been written"
    assert "unhandled error" in output, "the crash must have been logged"
    assert marker not in output


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_marker_never_reaches_the_real_servers_output(database_url: str, tmp_path: Path) -> None:
    """The real `doorstep serve`, all loggers at DEBUG, stdout and stderr read whole."""
    marker = _marker()
    port = _free_port()
    env = {
        **os.environ,
        "DOORSTEP_DATABASE_URL": database_url,
        "DOORSTEP_DATA_DIR": str(tmp_path),
        "DOORSTEP_LOG_LEVEL": "DEBUG",
        "DOORSTEP_LOG_FORMAT": "json",
    }
    server = subprocess.Popen(
        [sys.executable, "-m", "doorstep", "serve", "--port", str(port)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        base = f"http://127.0.0.1:{port}"
        # Generous: a loaded machine starts Python slowly; a server that died is seen at once.
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline and server.poll() is None:
            try:
                if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.2)
        else:
            pytest.fail("doorstep serve did not start")
        httpx.get(f"{base}/users/{marker}?email={marker}", headers={"x-request-id": marker})
        httpx.post(f"{base}/readyz", json={"email": marker}, headers={"referer": marker})
        httpx.get(f"{base}/readyz", headers={"user-agent": marker})
    finally:
        server.terminate()
        output, _ = server.communicate(timeout=30)
    assert "doorstep.access" in output, "access lines must be in the output"
    assert marker not in output


def test_credentials_in_dumped_headers_are_scrubbed() -> None:
    secret = "dev-secret-" + uuid.uuid4().hex
    lines = [
        f"> authorization: Bearer {secret}",
        f"headers=[(b'authorization', b'Basic {secret}')]",
        f"Cookie: doorstep_session={secret}",
        f'{{"authorization": "Bearer {secret}"}}',
    ]
    for line in lines:
        assert secret not in scrub(line), line


def test_endpoint_ids_with_serial_numbers_are_scrubbed() -> None:
    line = '"WebSocket /usp?eid=os%3A%3A02D00C-42F5200000001" [accepted]'
    assert "42F5200000001" not in scrub(line)
    assert "42F5200000001" not in scrub("agent os::02D00C-42F5200000001 connected")
