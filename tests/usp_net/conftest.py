"""Real brokers and a real WebSocket endpoint for the USP network tests.

* ``broker``: the system Mosquitto at 127.0.0.1:1883 when it answers, else one we
  spawn; every test uses its own topic root, so tests (and xdist workers) never see
  each other's traffic.
* :class:`Mosquitto`: a broker process of our own on a free loopback port (generated
  configuration, optional dynamic-security users and per-device ACLs), which a test
  can kill and restart on the same port.
* :func:`serve_app`: ``create_app(runtime)`` with the USP router, in uvicorn, as a task
  of the test's event loop.
* Tests are plain functions that call :func:`run` (``asyncio.run`` with a deadline).
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import json
import os
import pwd
import secrets
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import AsyncIterator, Coroutine, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import pytest

from doorstep.usp.config import UspConfig

T = TypeVar("T")
MOSQUITTO = shutil.which("mosquitto") or next(
    (p for p in ("/usr/sbin/mosquitto", "/usr/local/sbin/mosquitto") if Path(p).exists()), None
)
DYNSEC = next(
    (
        p
        for p in (
            "/usr/lib/x86_64-linux-gnu/mosquitto_dynamic_security.so",
            "/usr/lib/aarch64-linux-gnu/mosquitto_dynamic_security.so",
            "/usr/lib/mosquitto_dynamic_security.so",
        )
        if Path(p).exists()
    ),
    None,
)
needs_mosquitto = pytest.mark.skipif(
    MOSQUITTO is None, reason="Mosquitto is not installed (apt-get install mosquitto)"
)


def run(coro: Coroutine[Any, Any, T], timeout: float = 90) -> T:
    """Run ``coro`` in a fresh event loop, failing after ``timeout`` seconds."""

    async def bounded() -> T:
        return await asyncio.wait_for(coro, timeout)

    return asyncio.run(bounded())


def free_port() -> int:
    """A TCP port free on loopback right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def port_open(port: int, host: str = "127.0.0.1") -> bool:
    """Whether something accepts TCP connections on ``host:port``."""
    with contextlib.suppress(OSError), socket.create_connection((host, port), timeout=0.5):
        return True
    return False


def net_config(port: int, **changes: Any) -> UspConfig:
    """Controller configuration with a topic root of its own, on broker ``port``."""
    root = f"doorstep-test/{secrets.token_hex(4)}"
    values: dict[str, Any] = {
        "mqtt_url": f"mqtt://127.0.0.1:{port}",
        "mqtt_controller_topic": f"{root}/controller",
        "mqtt_response_topic": f"{root}/response",
        "mqtt_agent_topic": f"{root}/agent",
        "mqtt_shared_group": f"g{secrets.token_hex(3)}",
        "request_timeout": 10.0,
        "reconnect_min": 0.2,
        "reconnect_max": 1.0,
        "audit_repeat_seconds": 0.0,
    }
    values.update(changes)
    return UspConfig(**values)


@dataclass
class Mosquitto:
    """A Mosquitto process of our own; ``users`` (name -> (password, topics)) enable auth."""

    directory: Path
    port: int = field(default_factory=free_port)
    users: Mapping[str, tuple[str, tuple[str, ...]]] | None = None
    process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        """Write the configuration and start the broker; wait until it listens."""
        assert MOSQUITTO is not None
        lines = [
            f"listener {self.port} 127.0.0.1",
            "persistence false",
            "set_tcp_nodelay true",
            # Started as root, Mosquitto would switch to user "mosquitto", who cannot
            # read the test's private directory: stay whoever we are.
            f"user {pwd.getpwuid(os.getuid()).pw_name}",
            f"log_dest file {self.directory / 'mosquitto.log'}",
            "log_type all",
        ]
        if self.users is None:
            lines.append("allow_anonymous true")
        else:
            if DYNSEC is None:
                pytest.skip("Mosquitto's dynamic-security plugin is not installed")
            security = self.directory / "dynamic-security.json"
            security.write_text(json.dumps(_dynsec(self.users)))
            lines += [
                "allow_anonymous false",
                f"plugin {DYNSEC}",
                f"plugin_opt_config_file {security}",
            ]
        conf = self.directory / "mosquitto.conf"
        conf.write_text("\n".join(lines) + "\n")
        self.process = subprocess.Popen(
            [MOSQUITTO, "-c", str(conf)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        deadline = time.monotonic() + 10
        while not port_open(self.port):
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("mosquitto did not start: " + self.log()[-500:])
            time.sleep(0.05)

    def kill(self) -> None:
        """Stop the broker abruptly (SIGKILL) and wait for it."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(10)
        self.process = None

    def log(self) -> str:
        """The broker's log so far."""
        path = self.directory / "mosquitto.log"
        return path.read_text(errors="replace") if path.exists() else ""


def _dynsec(users: Mapping[str, tuple[str, tuple[str, ...]]]) -> dict[str, Any]:
    """A dynamic-security file: one role per user, allowed to publish/subscribe its topics."""
    clients, roles = [], []
    for index, (name, (password, topics)) in enumerate(users.items()):
        salt = os.urandom(12)
        digest = hashlib.pbkdf2_hmac("sha512", password.encode(), salt, 101, 64)
        role = f"role{index}"
        clients.append(
            {
                "username": name,
                "roles": [{"rolename": role}],
                "password": base64.b64encode(digest).decode(),
                "salt": base64.b64encode(salt).decode(),
                "iterations": 101,
            }
        )
        acls = []
        for topic in topics:
            kind, _, pattern = topic.partition(" ")
            acltype = {"write": "publishClientSend", "receive": "publishClientReceive"}.get(
                kind, "subscribePattern"
            )
            acls.append({"acltype": acltype, "topic": pattern, "priority": 0, "allow": True})
        roles.append({"rolename": role, "acls": acls})
    access = {
        "publishClientSend": False,
        "publishClientReceive": True,
        "subscribe": False,
        "unsubscribe": True,
    }
    return {"defaultACLAccess": access, "clients": clients, "groups": [], "roles": roles}


@pytest.fixture
def spawn_broker(tmp_path: Path) -> Iterator[Any]:
    """Start brokers of our own; every one is killed at the end of the test."""
    if MOSQUITTO is None:
        pytest.skip("Mosquitto is not installed (apt-get install mosquitto)")
    started: list[Mosquitto] = []

    def start(users: Mapping[str, tuple[str, tuple[str, ...]]] | None = None) -> Mosquitto:
        directory = tmp_path / f"broker{len(started)}"
        directory.mkdir()
        broker = Mosquitto(directory, users=users)
        broker.start()
        started.append(broker)
        return broker

    yield start
    for broker in started:
        broker.kill()


@pytest.fixture
def broker(spawn_broker: Any) -> int:
    """The port of a plain anonymous broker: the system one if it answers, else our own."""
    if port_open(1883):
        return 1883
    return int(spawn_broker().port)


@contextlib.asynccontextmanager
async def serve_app(app: Any) -> AsyncIterator[str]:
    """Serve ``app`` with uvicorn on a free loopback port; yield its ``ws://…/usp`` URL."""
    import uvicorn

    port = free_port()
    config = uvicorn.Config(
        app,
        host="127.0.0.1",
        port=port,
        log_config=None,
        access_log=False,
        lifespan="on",
        ws="websockets-sansio",
        ws_max_size=1 << 20,
    )
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    while not server.started:
        if task.done():
            task.result()
        await asyncio.sleep(0.02)
    try:
        yield f"ws://127.0.0.1:{port}/usp"
    finally:
        server.should_exit = True
        await asyncio.wait_for(task, 15)
