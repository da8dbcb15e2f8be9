"""TLS in transit to the MQTT broker (CPE-IV.1.a): ``mqtts://`` connects over TLS and
verifies the broker's certificate; a broker the controller cannot verify is refused.

A real Mosquitto with a TLS listener only, and a certificate made for the test.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import pwd
import ssl
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from doorstep.usp.config import UspConfig
from doorstep.usp.controller import Controller
from doorstep.usp.credentials import InMemoryCredentialStore
from doorstep.usp.mtp.mqtt import MqttTransport
from tests.certificates import self_signed
from tests.usp_net.conftest import MOSQUITTO, free_port, net_config, port_open, run
from tests.usp_net.helpers import until

REFUSED = "mqtt broker connection lost or refused"


def _certificate(directory: Path) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1 and localhost: (certificate file, key file)."""
    return self_signed(directory, "broker")


@pytest.fixture
def tls_broker(tmp_path: Path) -> Iterator[tuple[int, Path]]:
    """A Mosquitto that listens with TLS only: (port, its certificate)."""
    if MOSQUITTO is None:
        pytest.skip("Mosquitto is not installed (apt-get install mosquitto)")
    cert_file, key_file = _certificate(tmp_path)
    port = free_port()
    conf = tmp_path / "mosquitto.conf"
    conf.write_text(
        "\n".join(
            [
                f"listener {port} 127.0.0.1",
                f"certfile {cert_file}",
                f"keyfile {key_file}",
                "allow_anonymous true",
                "persistence false",
                f"user {pwd.getpwuid(os.getuid()).pw_name}",
                f"log_dest file {tmp_path / 'mosquitto.log'}",
            ]
        )
        + "\n"
    )
    process = subprocess.Popen(
        [MOSQUITTO, "-c", str(conf)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        deadline = time.monotonic() + 10
        while not port_open(port):
            assert process.poll() is None and time.monotonic() < deadline, "mosquitto failed"
            time.sleep(0.05)
        yield port, cert_file
    finally:
        process.kill()
        process.wait(10)


async def _connect(config: UspConfig, tls: ssl.SSLContext | None, ready: object) -> MqttTransport:
    """Run a controller's MQTT transport until ``ready(transport)`` holds; return it."""
    controller = Controller(config, credentials=InMemoryCredentialStore({}))
    transport = MqttTransport(controller, tls=tls)
    task = asyncio.create_task(transport.run())
    try:
        await until(lambda: ready(transport))  # type: ignore[operator]
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        await controller.aclose()
    return transport


def test_an_mqtts_url_means_tls_on_the_tls_port() -> None:
    broker = UspConfig(mqtt_url="mqtts://broker.isp.example").broker
    assert (broker.host, broker.port, broker.tls) == ("broker.isp.example", 8883, True)
    assert UspConfig(mqtt_url="mqtt://broker.isp.example").broker.tls is False


@pytest.mark.clause("CPE-IV.1.a")
# paho-mqtt leaves the socket of a failed TLS handshake to the garbage collector.
@pytest.mark.filterwarnings(
    r"ignore:Exception ignored in. <ssl.SSLSocket:pytest.PytestUnraisableExceptionWarning"
)
def test_the_controller_reaches_the_broker_over_verified_tls_only(
    tls_broker: tuple[int, Path], caplog: pytest.LogCaptureFixture
) -> None:
    port, cert_file = tls_broker
    config = net_config(port, mqtt_url=f"mqtts://127.0.0.1:{port}")
    trusted = ssl.create_default_context(cafile=str(cert_file))
    connected = run(_connect(config, trusted, lambda t: t.connected.is_set()))
    assert connected.sessions == 1
    # Without being told to trust the broker's certificate, the default (system CAs,
    # host name checked) refuses it: the controller never gets a session.
    caplog.set_level("WARNING", logger="doorstep.usp.mqtt")
    refused = run(_connect(config, None, lambda t: REFUSED in caplog.text))
    assert refused.sessions == 0 and not refused.connected.is_set()
