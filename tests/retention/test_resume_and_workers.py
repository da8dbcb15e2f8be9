"""A sweep killed at any point ends, once run again, exactly where an uninterrupted one does;
several workers at once handle each row once and leave none behind."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from doorstep.core.clock import FakeClock
from doorstep.core.runtime import Runtime
from doorstep.privacy.retention import sweep as sweep_module
from doorstep.privacy.retention.sweep import SWEPT, run_sweeps
from tests.conftest import ROOT, database_url_of
from tests.retention.conftest import (
    SCRATCH_DEVICES,
    SCRATCH_PPPOE,
    scratch_targets,
)

NOW = datetime(2030, 6, 1, 12, tzinfo=UTC)
ROWS = 1_200
# Every third device is online (no last_seen); the others were last seen 0 to 4 x 300 days
# ago, so about half of all devices are due.  PPPoE: half unbound a day ago.
_SEED = [
    f"""INSERT INTO {SCRATCH_DEVICES} (id, model, serial_number, mac, ip, account_id, last_seen)
        SELECT g, 'ZXHN', 'SN' || g, 'mac' || g, 'ip' || g, md5(g::text)::uuid,
               CASE WHEN g % 3 = 0 THEN NULL
                    ELSE :now - (g % 5) * interval '300 days' - interval '1 hour' END
          FROM generate_series(1, :n) g""",
    f"""INSERT INTO {SCRATCH_PPPOE} (device_id, username, password, unbound_at)
        SELECT g, 'u'::bytea, 'p'::bytea, CASE WHEN g % 2 = 0 THEN :now - interval '1 day' END
          FROM generate_series(1, :n) g""",
]
_TABLES = (SCRATCH_DEVICES, SCRATCH_PPPOE)


def _seed(engine: Engine) -> None:
    with engine.begin() as connection:
        connection.execute(sa.text(f"TRUNCATE {', '.join(_TABLES)}"))
        for statement in _SEED:
            connection.execute(sa.text(statement), {"now": NOW, "n": ROWS})


def _state(engine: Engine) -> dict[str, list[Any]]:
    with engine.connect() as connection:
        return {
            table: [
                tuple(row)
                for row in connection.execute(sa.text(f"SELECT * FROM {table} ORDER BY 1"))
            ]
            for table in _TABLES
        }


def _swept(engine: Engine) -> int:
    with engine.connect() as connection:
        total = connection.execute(
            sa.text(
                "SELECT coalesce(sum((details->>'rows')::int), 0) FROM audit_events "
                "WHERE action = :a"
            ),
            {"a": SWEPT},
        ).scalar_one()
    return int(total)


def _uninterrupted(runtime: Runtime, scratch: sa.MetaData) -> dict[str, list[Any]]:
    _seed(runtime.engine)
    run_sweeps(runtime, scratch_targets(scratch, runtime), batch_size=97)
    return _state(runtime.engine)


class Crash(Exception):
    """Stands for the process dying."""


@pytest.mark.parametrize(("after", "inside"), [(0, True), (1, False), (4, True), (9, False)])
def test_a_sweep_stopped_anywhere_finishes_in_the_same_state(
    committed: Runtime,
    committed_devices: sa.MetaData,
    clock: FakeClock,
    monkeypatch: pytest.MonkeyPatch,
    after: int,
    inside: bool,
) -> None:
    """Stop after ``after`` committed batches, between two or inside the next; run again."""
    clock.set(NOW)
    expected = _uninterrupted(committed, committed_devices)
    due = _swept(committed.engine)
    assert due > 5 * 97  # there was work for several batches

    _seed(committed.engine)
    batches = 0
    real_batch = sweep_module._batch

    def dying_batch(*args: Any, **kwargs: Any) -> tuple[int, bool]:
        result = real_batch(*args, **kwargs)  # the statement ran: rows are changed, uncommitted
        if inside and batches == after:
            raise Crash
        return result

    def counting(*_: object) -> None:
        nonlocal batches
        batches += 1
        if not inside and batches == after:
            raise Crash

    monkeypatch.setattr(sweep_module, "_batch", dying_batch)
    with pytest.raises(Crash):
        run_sweeps(
            committed,
            scratch_targets(committed_devices, committed),
            batch_size=97,
            on_batch=counting,
        )
    monkeypatch.setattr(sweep_module, "_batch", real_batch)
    assert _state(committed.engine) != expected
    run_sweeps(committed, scratch_targets(committed_devices, committed), batch_size=97)
    assert _state(committed.engine) == expected
    assert _swept(committed.engine) == 2 * due  # each row counted once per seeding


@pytest.mark.slow
def test_a_sweep_killed_with_sigkill_finishes_when_run_again(
    committed: Runtime, committed_devices: sa.MetaData, clock: FakeClock
) -> None:
    clock.set(NOW)
    expected = _uninterrupted(committed, committed_devices)
    due = _swept(committed.engine)
    _seed(committed.engine)
    url = database_url_of(committed.settings)
    child = subprocess.Popen(
        [sys.executable, "-m", "tests.retention.sweeper", url, NOW.isoformat(), "29", "0.05"],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        stdout=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 60
    while _swept(committed.engine) < due + 5 * 29 and time.monotonic() < deadline:
        time.sleep(0.02)
    child.send_signal(signal.SIGKILL)
    output, _ = child.communicate(timeout=30)
    assert child.returncode == -signal.SIGKILL
    assert "ready" in output and "done" not in output
    halfway = _swept(committed.engine) - due
    assert 0 < halfway < due
    run_sweeps(committed, scratch_targets(committed_devices, committed), batch_size=29)
    assert _state(committed.engine) == expected
    assert _swept(committed.engine) == 2 * due


def test_two_workers_at_once_handle_each_row_once(
    committed: Runtime, committed_devices: sa.MetaData, clock: FakeClock
) -> None:
    clock.set(NOW)
    expected = _uninterrupted(committed, committed_devices)
    due = _swept(committed.engine)
    _seed(committed.engine)
    start = threading.Barrier(2)
    handled: dict[str, int] = {}
    errors: list[BaseException] = []

    def worker(name: str) -> None:
        try:
            start.wait(10)
            results = run_sweeps(
                committed,
                scratch_targets(committed_devices, committed),
                batch_size=23,
                on_batch=lambda *_: time.sleep(0.005),
            )
            handled[name] = sum(result.rows for result in results)
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(name,)) for name in ("a", "b")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert errors == []
    assert handled["a"] > 0 and handled["b"] > 0, handled
    assert handled["a"] + handled["b"] == due  # no row twice, none left
    assert _swept(committed.engine) == 2 * due
    assert _state(committed.engine) == expected
