"""The `doorstep` command: version, help, clear errors, exit codes, and the demo's life cycle.

Behaviour is tested in this process (:func:`tests.cli_run.doorstep`); only the
entry point, the cold start and the demo's start and Ctrl-C run real processes.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
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
from doorstep.core.embedded import data_dir_lock, publish_connection
from doorstep.core.migrations import head_revision
from doorstep.core.runtime import Runtime
from tests.cli_run import doorstep, doorstep_process
from tests.conftest import database_url_of
from tests.test_logging_guard import _free_port

__all__ = ["doorstep"]  # the CLI tests of the areas import it from here

#: Added to a command's environment: no external database (the embedded one of its data dir).
NO_DATABASE: dict[str, str | None] = {"DOORSTEP_DATABASE_URL": None}


def test_the_entry_point_prints_the_version() -> None:
    result = doorstep_process("--version")
    assert (result.returncode, result.stdout.strip()) == (0, f"doorstep {__version__}")


#: The modules ``doorstep --version`` and ``--help`` may import of Doorstep's own: the
#: root command and the helpers it shares with the areas, nothing of any area.
STARTUP_MODULES = {
    "doorstep",
    "doorstep.__main__",
    "doorstep.cli",
    "doorstep._cli_commands",
    "doorstep.core",
    "doorstep.core.commands",
}
#: Libraries that make start-up slow and that neither needs.
SLOW_LIBRARIES = ("sqlalchemy", "psycopg", "fastapi", "google.protobuf", "pydantic", "rich")


@pytest.mark.parametrize("option", ["--version", "--help"])
def test_version_and_help_start_without_the_areas(option: str) -> None:
    """``doorstep --version``/``--help`` import no area, SQLAlchemy, FastAPI, protobuf … (cold)."""
    probe = (
        "import runpy, sys\n"
        f"sys.argv = ['doorstep', {option!r}]\n"
        "try:\n"
        "    runpy.run_module('doorstep', run_name='__main__')\n"
        "except SystemExit:\n"
        "    pass\n"
        "ours = sorted(m for m in sys.modules if m.split('.')[0] == 'doorstep')\n"
        "print('probe modules:', ','.join(ours))\n"
        f"print('probe slow:', ','.join(m for m in {SLOW_LIBRARIES!r} if m in sys.modules))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, timeout=120, check=False
    )
    assert result.returncode == 0, result.stderr
    found = dict(line.split(": ", 1) for line in result.stdout.splitlines() if ": " in line)
    assert set(found["probe modules"].split(",")) <= STARTUP_MODULES, found["probe modules"]
    assert found["probe slow"] == "", found["probe slow"]
    if option == "--help":
        assert "staff" in result.stdout  # the area groups are listed all the same
    else:
        assert f"doorstep {__version__}" in result.stdout


def test_version_and_help_in_process() -> None:
    assert doorstep("--version").stdout.strip() == f"doorstep {__version__}"
    result = doorstep("--help")
    assert result.returncode == 0
    for command in ("serve", "worker", "migrate", "demo", "staff", "requests", "retention"):
        assert re.search(rf"^  {command}\s", result.stdout, re.M), command


def test_the_listed_help_of_each_area_is_its_own() -> None:
    import importlib

    import typer

    from doorstep._cli_commands import AREA_COMMANDS

    for name, (module, listed) in AREA_COMMANDS.items():
        group = typer.main.get_group(importlib.import_module(module).app)
        assert group.help == listed, name


def _every_command() -> Iterator[list[str]]:
    from doorstep._cli_commands import AREA_COMMANDS

    yield ["serve"]
    yield ["worker"]
    yield ["migrate"]
    yield ["demo"]
    for area in AREA_COMMANDS:
        listing = doorstep(area, "--help").stdout
        commands = listing.split("Commands:", 1)[1] if "Commands:" in listing else ""
        for match in re.finditer(r"^  ([a-z][\w-]*)", commands, re.M):
            yield [area, match.group(1)]


def test_help_names_values_not_python_types() -> None:
    for command in _every_command():
        result = doorstep(*command, "--help")
        assert result.returncode == 0, command
        assert not re.search(r"<(bool|int|str|path|list|float)", result.stdout), (
            command,
            result.stdout,
        )
    serve = doorstep("serve", "--help").stdout
    assert re.search(r"--port PORT\s", serve) and "--migrate / --no-migrate" in serve
    assert "--role [support|privacy_officer|admin]" in doorstep("staff", "add", "--help").stdout


def test_unknown_command_is_a_usage_error() -> None:
    assert doorstep("frobnicate").returncode == 2


def test_unreachable_database_names_the_host_not_the_password() -> None:
    url = "postgresql://operator:s3cr3t-pass@127.0.0.1:1/doorstep"
    for command in (["migrate"], ["worker"], ["serve", "--port", str(_free_port())]):
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
    env = {**NO_DATABASE, "DOORSTEP_DATA_DIR": str(tmp_path)}
    with data_dir_lock(tmp_path):
        result = doorstep("demo", "--port", str(_free_port()), env=env)
    assert result.returncode == 1
    assert f"already running on data directory {tmp_path} (pid {os.getpid()})" in result.stderr
    assert not (tmp_path / "pg").exists(), "the refused instance must not touch the data"


@pytest.fixture
def nothing_starts(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make opening a runtime (database, embedded server) fail the test."""

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("a runtime was opened before every precondition was checked")

    monkeypatch.setattr("doorstep.core.runtime.open_runtime", refuse)


@pytest.mark.usefixtures("nothing_starts")
def test_a_taken_port_stops_the_demo_and_serve_before_anything_starts(tmp_path: Path) -> None:
    env = {**NO_DATABASE, "DOORSTEP_DATA_DIR": str(tmp_path / "data")}
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = str(taken.getsockname()[1])
        for command in ("demo", "serve"):
            result = doorstep(command, "--port", port, env=env)
            assert result.returncode == 1, result.stderr
            assert f"port {port} on 127.0.0.1 is already in use" in result.stderr
            assert result.stdout == "", "no banner for a demo that does not start"
    assert not (tmp_path / "data").exists(), "no data directory, no database, no seed"


def test_operator_commands_join_a_running_demos_database(committed: Runtime) -> None:
    """While a demo holds the data directory, `staff …` uses its published database."""
    data_dir = committed.settings.data_dir
    env = {**NO_DATABASE, "DOORSTEP_DATA_DIR": str(data_dir)}
    with data_dir_lock(data_dir), publish_connection(data_dir, database_url_of(committed.settings)):
        added = doorstep("staff", "add", "--role", "privacy_officer", env=env)
        assert added.returncode == 0, added.stderr
        staff_id = added.stdout.strip()
        link = doorstep("staff", "sign-in-link", staff_id, env=env)
        assert link.returncode == 0, link.stderr
        assert "/console/sign-in?token=dsl_" in link.stdout
        for refused in (["migrate"], ["worker"], ["demo", "--port", str(_free_port())]):
            result = doorstep(*refused, env=env)
            assert result.returncode == 1, refused
            assert "already running on data directory" in result.stderr
    with committed.engine.connect() as connection:
        found = connection.exec_driver_sql(
            "SELECT role::text FROM staff_members WHERE id = %(id)s", {"id": staff_id}
        ).scalar_one()
    assert found == "privacy_officer"


def test_a_connection_left_by_a_dead_demo_is_not_used(tmp_path: Path) -> None:
    from doorstep.core.embedded import running_connection

    with data_dir_lock(tmp_path), publish_connection(tmp_path, "postgresql://x@/d?host=/nowhere"):
        assert running_connection(tmp_path) == "postgresql://x@/d?host=/nowhere"
        left = (tmp_path / "connection.json").read_text()
    (tmp_path / "connection.json").write_text(left)  # as if the demo had been killed
    assert running_connection(tmp_path) is None


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
    """Ctrl-C the demo and return its output; a demo that does not stop fails the test.

    It is killed first, so its pipes are closed here and not left to the garbage
    collector in whatever test runs next.
    """
    process.send_signal(signal.SIGINT)
    try:
        output, _ = process.communicate(timeout=60)
    except subprocess.TimeoutExpired:
        process.kill()
        output, _ = process.communicate()
        pytest.fail(f"the demo did not stop within 60 s of Ctrl-C:\n{output[-4000:]}")
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
        mailbox = httpx.get(f"http://127.0.0.1:{port}/demo/mailbox", timeout=10)
        assert mailbox.status_code == 200 and "Demo mailbox" in mailbox.text
        joined = doorstep(
            "requests", "list", env={**NO_DATABASE, "DOORSTEP_DATA_DIR": str(data_dir)}
        )
        assert joined.returncode == 0, joined.stderr
        assert "restriction" in joined.stdout, "the seeded request waits"
        second = _start_demo(data_dir, _free_port())
        output = second.communicate(timeout=60)[0]
        assert second.returncode == 1, output
        assert "already running on data directory" in output
    finally:
        output = _stop(first)
    assert first.returncode == 0, output
    assert f"http://127.0.0.1:{port}/" in output, "the demo says where to open it"
    assert f"http://127.0.0.1:{port}/demo/mailbox" in output
    assert "demo stopped" in output
    assert not (data_dir / "pg" / "postmaster.pid").exists(), "the embedded server must stop"
    assert not (data_dir / "connection.json").exists(), "the published connection goes too"

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
