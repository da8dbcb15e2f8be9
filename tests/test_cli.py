"""The `doorstep` command: version, clear errors, exit codes, and the demo's life cycle."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import psycopg
import pytest

from doorstep import __version__
from doorstep.core.embedded import data_dir_lock
from doorstep.core.migrations import head_revision
from tests.test_logging_guard import _free_port


def doorstep(
    *args: str, env: dict[str, str] | None = None, timeout: float = 60
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "doorstep", *args],
        env={**os.environ, **(env or {})},
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def test_version() -> None:
    result = doorstep("--version")
    assert (result.returncode, result.stdout.strip()) == (0, f"doorstep {__version__}")


def test_help_lists_the_commands() -> None:
    result = doorstep("--help")
    assert result.returncode == 0
    for command in ("serve", "worker", "migrate", "demo"):
        assert command in result.stdout


def test_unknown_command_is_a_usage_error() -> None:
    assert doorstep("frobnicate").returncode == 2


def test_unreachable_database_names_the_host_not_the_password() -> None:
    url = "postgresql://operator:s3cr3t-pass@127.0.0.1:1/doorstep"
    for command in (["migrate"], ["worker"], ["serve"]):
        result = doorstep(*command, env={"DOORSTEP_DATABASE_URL": url})
        assert result.returncode == 1, result.stderr
        assert "cannot connect to PostgreSQL at 127.0.0.1:1/doorstep" in result.stderr
        assert "s3cr3t-pass" not in result.stderr + result.stdout
        assert "operator" not in result.stderr + result.stdout


def test_a_database_url_that_is_not_postgres_is_refused() -> None:
    result = doorstep("migrate", env={"DOORSTEP_DATABASE_URL": "mysql://u:pw@h/db"})
    assert result.returncode == 2
    assert "postgresql://" in result.stderr


def test_production_refuses_default_secrets() -> None:
    result = doorstep(
        "serve",
        env={"DOORSTEP_ENV": "production", "DOORSTEP_DATABASE_URL": "postgresql://h/db"},
    )
    assert result.returncode == 2
    assert "DOORSTEP_SECRET_KEY" in result.stderr


def test_migrate_check_reports_current(database_url: str) -> None:
    result = doorstep("migrate", "--check", env={"DOORSTEP_DATABASE_URL": database_url})
    assert result.returncode == 0, result.stderr
    head = head_revision()
    assert f"current: {head}  head: {head}" in result.stdout


def test_worker_refuses_an_unmigrated_database(server_url: str) -> None:
    from tests.conftest import _worker_id, fresh_database

    url = fresh_database(server_url, f"doorstep_test_{_worker_id()}_cli")
    result = doorstep("worker", env={"DOORSTEP_DATABASE_URL": url})
    assert result.returncode == 1
    assert "run `doorstep migrate` first" in result.stderr


def test_a_second_instance_on_the_same_data_dir_is_refused(tmp_path: Path) -> None:
    env = {"DOORSTEP_DATA_DIR": str(tmp_path)}
    env_without_db = {k: v for k, v in os.environ.items() if k != "DOORSTEP_DATABASE_URL"}
    with data_dir_lock(tmp_path):
        result = subprocess.run(
            [sys.executable, "-m", "doorstep", "demo", "--port", str(_free_port())],
            env={**env_without_db, **env},
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
    assert result.returncode == 1
    assert f"already running on data directory {tmp_path} (pid {os.getpid()})" in result.stderr
    assert not (tmp_path / "pg").exists(), "the refused instance must not touch the data"


def _start_demo(data_dir: Path, port: int) -> subprocess.Popen[str]:
    env = {k: v for k, v in os.environ.items() if k != "DOORSTEP_DATABASE_URL"}
    env["DOORSTEP_DATA_DIR"] = str(data_dir)
    return subprocess.Popen(
        [sys.executable, "-m", "doorstep", "demo", "--port", str(port)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def _wait_ready(port: int, process: subprocess.Popen[str], seconds: float = 90) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"demo exited early:\n{process.stdout.read() if process.stdout else ''}")
        try:
            if httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    pytest.fail("demo did not become ready")


def _stop(process: subprocess.Popen[str]) -> str:
    process.send_signal(signal.SIGINT)
    output, _ = process.communicate(timeout=60)
    return output


@pytest.fixture
def demo_dir() -> Iterator[Path]:
    """A data directory outside pytest's tmp tree.

    The embedded server runs as its own system user, which must traverse every
    parent directory; pytest resets its base temp directory to 0700 whenever
    another test process starts, which would lock that user out mid-test.
    """
    base = Path(tempfile.mkdtemp(prefix="doorstep-demo-test-"))
    base.chmod(0o755)
    yield base / "demo"
    shutil.rmtree(base, ignore_errors=True)


@pytest.mark.slow
def test_demo_runs_persists_and_stops_cleanly(demo_dir: Path) -> None:
    data_dir = demo_dir
    port = _free_port()
    first = _start_demo(data_dir, port)
    try:
        _wait_ready(port, first)
        marker = uuid.uuid4()
        url = f"postgresql://postgres@/doorstep?host={data_dir / 'pg'}"
        with psycopg.connect(url, autocommit=True) as connection:
            connection.execute("INSERT INTO subjects (id, kind) VALUES (%s, 'staff')", (marker,))
        second = _start_demo(data_dir, _free_port())
        output = second.communicate(timeout=60)[0]
        assert second.returncode == 1, output
        assert "already running on data directory" in output
    finally:
        output = _stop(first)
    assert first.returncode == 0, output
    assert f"http://127.0.0.1:{port}/" in output, "the demo says where to open it"
    assert "demo stopped" in output
    assert not (data_dir / "pg" / "postmaster.pid").exists(), "the embedded server must stop"

    again = _start_demo(data_dir, port)
    try:
        _wait_ready(port, again)
        with psycopg.connect(url, autocommit=True) as connection:
            found = connection.execute(
                "SELECT kind FROM subjects WHERE id = %s", (marker,)
            ).fetchone()
        assert found == ("staff",), "data must persist between runs"
    finally:
        output = _stop(again)
    assert again.returncode == 0, output
