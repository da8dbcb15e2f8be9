"""What the USP network benches share: a Mosquitto of their own, and a process's CPU time.

* :func:`start_broker`: Mosquitto on a free loopback port, configured as ADR 0009
  advises for production (``set_tcp_nodelay true``; anonymous here: credentials are
  not the figure), with its own configuration file in ``scratch``.
* :func:`cpu_seconds`: user + system CPU time a process has used so far, read from
  ``/proc/<pid>/stat`` (every thread of it), so a figure can charge each process
  apart: the controller, the simulated agents and the broker.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path

_TICKS = os.sysconf("SC_CLK_TCK")


def mosquitto_binary() -> str | None:
    """The Mosquitto executable, or None when it is not installed."""
    found = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
    return found if Path(found).exists() else None


def free_port() -> int:
    """A TCP port free on loopback right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def start_broker(mosquitto: str, scratch: Path) -> tuple[subprocess.Popen[bytes], int]:
    """Start Mosquitto on a free loopback port; return it once it accepts connections."""
    port = free_port()
    conf = scratch / "mosquitto.conf"
    conf.write_text(
        f"listener {port} 127.0.0.1\nallow_anonymous true\npersistence false\n"
        f"set_tcp_nodelay true\nmax_queued_messages 10000\n"
        f"user {pwd.getpwuid(os.getuid()).pw_name}\n"
    )
    broker = subprocess.Popen([mosquitto, "-c", str(conf)], stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.2):
            return broker, port
        time.sleep(0.05)
    broker.kill()
    raise RuntimeError("the bench's Mosquitto did not start listening")


def stop(process: subprocess.Popen[bytes] | subprocess.Popen[str] | None, sig: int) -> None:
    """Send ``sig`` to ``process`` if it still runs; kill it after 15 s."""
    if process is None or process.poll() is not None:
        return
    process.send_signal(sig)
    try:
        process.wait(15)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def stop_broker(broker: subprocess.Popen[bytes] | None) -> None:
    """Stop the bench's Mosquitto."""
    stop(broker, signal.SIGTERM)


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds process ``pid`` has used so far (all its threads)."""
    stat = Path(f"/proc/{pid}/stat").read_text()
    fields = stat[stat.rindex(")") + 2 :].split()  # the name may hold spaces
    return (int(fields[11]) + int(fields[12])) / _TICKS
