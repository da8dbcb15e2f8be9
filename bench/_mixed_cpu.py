"""CPU time of the mixed-load bench's processes, charged per kind over one run.

:class:`CpuMeter` reads, at the start and the end of a run, the CPU seconds of
each kind of process (``/proc/<pid>/stat``, every thread): the serves, workers
and controller, the simulated routers, Mosquitto, this database's PostgreSQL
backends (those of ``pg_stat_activity`` at the end; one that began during the run
counts from its start, one that ended during it is missed), the bench process
itself (the load driver, :func:`time.process_time`), and the whole machine's busy
time from ``/proc/stat`` (other sessions' work included).  :meth:`CpuMeter.cores`
turns the differences into cores busy on average (CPU seconds per second).
"""

from __future__ import annotations

import contextlib
import os
import time
from dataclasses import dataclass, field
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from bench._usp_broker import cpu_seconds

_TICKS = os.sysconf("SC_CLK_TCK")
#: The kinds :meth:`CpuMeter.cores` reports besides those of ``pids``, in its order.
POSTGRES, DRIVER, MACHINE = "PostgreSQL (this database)", "load driver (bench process)", "machine"


def _machine_busy() -> float:
    """Seconds of CPU the whole machine has been busy (not idle, not waiting for I/O)."""
    first = Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:9]
    user, nice, system, _idle, _iowait, irq, softirq, steal = (int(x) for x in first)
    return (user + nice + system + irq + softirq + steal) / _TICKS


def _postgres_pids(engine: Engine) -> list[int]:
    with engine.connect() as connection:
        rows = connection.execute(
            sa.text(
                "SELECT pid FROM pg_stat_activity "
                "WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )
        )
        return [int(pid) for pid in rows.scalars()]


def _cpu(pid: int) -> float:
    with contextlib.suppress(OSError, ValueError, IndexError):
        return cpu_seconds(pid)
    return 0.0


@dataclass
class CpuMeter:
    """CPU seconds per kind of process between :meth:`start` and :meth:`stop`."""

    engine: Engine
    pids: dict[str, list[int]]
    _began: dict[str, float] = field(default_factory=dict)
    _backends: dict[int, float] = field(default_factory=dict)
    _spent: dict[str, float] = field(default_factory=dict)
    _wall: float = 0.0

    def _read(self) -> dict[str, float]:
        found = {kind: sum(_cpu(pid) for pid in pids) for kind, pids in self.pids.items()}
        found[DRIVER] = time.process_time()
        found[MACHINE] = _machine_busy()
        return found

    def start(self) -> None:
        """Read every counter now."""
        self._backends = {pid: _cpu(pid) for pid in _postgres_pids(self.engine)}
        self._began = self._read()
        self._wall = time.monotonic()

    def stop(self) -> None:
        """Read every counter again; the differences are the run's."""
        ended = self._read()
        self._wall = time.monotonic() - self._wall
        self._spent = {kind: ended[kind] - self._began[kind] for kind in ended}
        self._spent[POSTGRES] = sum(
            _cpu(pid) - self._backends.get(pid, 0.0) for pid in _postgres_pids(self.engine)
        )

    def cores(self) -> dict[str, float]:
        """Cores busy on average per kind, between start and stop (CPU seconds per second)."""
        order = [*self.pids, POSTGRES, DRIVER, MACHINE]
        return {kind: self._spent[kind] / self._wall for kind in order}
