"""`doorstep retention plan | run | report`, as an operator runs them.

The commands run in the test process (:mod:`tests.cli_run`); only the Ctrl-C
test runs one in a process of its own, to interrupt it.  The commands use the
wall clock, so rows are planted relative to it.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from datetime import timedelta

import pytest
import sqlalchemy as sa

from doorstep.audit.services import checkpoint, record, seal
from doorstep.core.clock import SystemClock
from doorstep.core.runtime import Runtime
from doorstep.privacy.datamap.pack import default_pack
from tests.conftest import database_url_of
from tests.test_cli import doorstep

_OUTBOX = """
    INSERT INTO outbox (id, subject_id, channel, template, locale, email, status, created_at,
                        sent_at, finished_at)
    SELECT gen_random_uuid(), gen_random_uuid(), 'email', 'account.verify_email', 'en',
           'x@example.org', 'sent', :at, :at, :at FROM generate_series(1, :n)
"""


def retention(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """Run ``doorstep retention ARGS`` in this process."""
    return doorstep("retention", *args, env=env)


def _env(runtime: Runtime, **extra: str) -> dict[str, str]:
    return {"DOORSTEP_DATABASE_URL": database_url_of(runtime.settings), **extra}


def _outbox(runtime: Runtime, n: int, age: timedelta) -> None:
    with runtime.engine.begin() as connection:
        connection.execute(sa.text(_OUTBOX), {"at": SystemClock().now() - age, "n": n})


def _count(runtime: Runtime, sql: str) -> int:
    with runtime.engine.connect() as connection:
        return int(connection.execute(sa.text(sql)).scalar_one())


@pytest.mark.clause("CORP-5.4")
def test_plan_run_and_run_again(committed: Runtime) -> None:
    env = _env(committed)
    _outbox(committed, 3, timedelta(days=31))
    _outbox(committed, 2, timedelta(days=29))
    planned = retention("plan", env=env)
    assert planned.returncode == 0, planned.stderr
    line = next(x for x in planned.stdout.splitlines() if x.startswith("outbox_messages@outbox"))
    assert line.split()[1:3] == ["delete", "P30D"] and line.endswith(" 3")
    assert "until_erasure@subjects" in planned.stdout and "by erasure" in planned.stdout

    ran = retention("run", "--batch-size", "2", env=env)
    assert ran.returncode == 0, ran.stderr
    assert "outbox_messages@outbox: 3 rows in 2 batches" in ran.stdout
    assert _count(committed, "SELECT count(*) FROM outbox") == 2
    again = retention("run", "--rule", "outbox_messages", env=env)
    assert (again.returncode, again.stdout.strip().splitlines()[-1]) == (
        0,
        "retention run done: 0 rows",
    )


def test_bad_usage_and_bad_settings_exit_2_naming_them(committed: Runtime) -> None:
    unknown = retention("run", "--rule", "forever", env=_env(committed))
    assert unknown.returncode == 2
    assert "no table binds retention rule 'forever'" in unknown.stderr
    longer = retention(
        "plan", env=_env(committed, DOORSTEP_RETENTION_PERIODS='{"outbox_messages": "P1Y"}')
    )
    assert longer.returncode == 2
    assert "retention_periods.outbox_messages: P1Y is longer" in longer.stderr


@pytest.mark.slow
def test_ctrl_c_stops_a_run_that_a_second_run_finishes(committed: Runtime) -> None:
    _outbox(committed, 60_000, timedelta(days=40))
    child = subprocess.Popen(
        [sys.executable, "-m", "doorstep", "retention", "run", "--batch-size", "50"],
        env={**os.environ, **_env(committed)},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    swept = "SELECT count(*) FROM audit_events WHERE action = 'retention.swept'"
    deadline = time.monotonic() + 60
    while _count(committed, swept) < 20 and time.monotonic() < deadline:
        time.sleep(0.01)
    child.send_signal(signal.SIGINT)
    out, err = child.communicate(timeout=60)
    assert child.returncode == 130, (out, err)
    assert "interrupted:" in err and "Run again to finish" in err
    left = _count(committed, "SELECT count(*) FROM outbox")
    assert 0 < left < 60_000
    done = retention("run", env=_env(committed))
    assert done.returncode == 0, done.stderr
    assert _count(committed, "SELECT count(*) FROM outbox") == 0
    assert f"outbox_messages@outbox: {left} rows" in done.stdout


@pytest.mark.clause("CPE-IV.1.a")
def test_audit_verify_passes_after_the_trail_was_pruned(committed: Runtime) -> None:
    old = SystemClock().now() - timedelta(days=3)
    with committed.sessions.begin() as session:
        for index in range(7):
            record(session, action="tests.old", actor="system:tests", details={"i": index}, at=old)
    with committed.sessions.begin() as session:
        seal(session)
        assert checkpoint(session, at=old + timedelta(minutes=5)) == 7
    with committed.sessions.begin() as session:
        record(session, action="tests.new", actor="system:tests")
    env = _env(committed, DOORSTEP_AUDIT_RETENTION_DAYS="2")
    assert doorstep("audit", "seal", env=env).returncode == 0
    ran = retention("run", "--rule", "audit_trail", "--batch-size", "3", env=env)
    assert ran.returncode == 0, ran.stderr
    assert "audit_trail@audit_events: 7 rows in 3 batches" in ran.stdout
    assert doorstep("audit", "seal", env=env).returncode == 0
    verified = doorstep("audit", "verify", env=env)
    assert verified.returncode == 0, verified.stderr
    assert "links 8.." in verified.stdout


@pytest.mark.clause("CPE-IV.3.b")
def test_the_report_names_every_rule_its_clauses_and_the_last_sweep(committed: Runtime) -> None:
    env = _env(committed)
    _outbox(committed, 4, timedelta(days=45))
    assert retention("run", env=env).returncode == 0
    reported = retention("report", env=env)
    assert reported.returncode == 0, reported.stderr
    text = reported.stdout
    pack = default_pack()
    for key, rule in pack.retention.items():
        assert f"### `{key}`" in text
        assert all(clause in text for clause in rule.clauses)
    outbox = text[text.index("### `outbox_messages`") :].split("### ")[1]
    assert "`outbox.email`" in outbox and "delete row" in outbox
    assert "| 4 | 4 in 1 batches |" in outbox
    wifi = text[text.index("### `wifi_scan`") :].split("### ")[1]
    assert "never stored" in wifi
    assert "x@example.org" not in text
