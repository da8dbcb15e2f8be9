"""The ``doorstep`` command.

Exit codes: 0 success; 1 the operation failed (database unreachable, data
directory busy, migrations not current); 2 bad usage or configuration.
Errors are one line on stderr naming what is wrong, never a secret or a
personal-data value.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
import sys
from collections.abc import Iterator
from typing import Annotated, NoReturn

import typer

from doorstep import __version__
from doorstep.core.errors import ConfigurationError, DoorstepError, InvalidInputError
from doorstep.core.logging import configure_logging
from doorstep.core.runtime import Runtime, open_runtime
from doorstep.core.settings import Settings, load_settings

app = typer.Typer(
    name="doorstep",
    help="Doorstep: a cloud for home routers and gateways whose privacy policy is executable.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


def fail(message: str, code: int = 1) -> NoReturn:
    """Print ``doorstep: <message>`` to stderr and exit with ``code``."""
    typer.echo(f"doorstep: {message}", err=True)
    raise typer.Exit(code)


def _settings(**overrides: object) -> Settings:
    try:
        settings = load_settings(**{k: v for k, v in overrides.items() if v is not None})
    except ConfigurationError as exc:
        fail(exc.detail, 2)
    configure_logging(settings)
    return settings


def _check_datamap(settings: Settings) -> None:
    """Start-up checks: data map, retention, requests settings, consent terms, staff matrix."""
    from doorstep.privacy.datamap.pack import default_pack
    from doorstep.privacy.datamap.registry import validate_datamap
    from doorstep.privacy.purposes.gate import PurposeGate
    from doorstep.privacy.requests.checks import validate_requests
    from doorstep.privacy.retention.registry import validate_retention
    from doorstep.schema import metadata
    from doorstep.staff.permissions import validate_matrix

    pack = default_pack()
    validate_datamap(metadata, pack)
    validate_retention(metadata, pack, settings)
    validate_requests(settings, pack, metadata)
    PurposeGate.from_datamap(metadata, pack)
    validate_matrix(pack)


@contextlib.contextmanager
def _runtime(settings: Settings, application_name: str) -> Iterator[Runtime]:
    try:
        _check_datamap(settings)
        with open_runtime(settings, application_name=application_name) as runtime:
            yield runtime
    except (ConfigurationError, InvalidInputError) as exc:
        fail(exc.detail, 2)
    except DoorstepError as exc:
        fail(exc.detail, 1)


def _port_free(host: str, port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError:
            return False
    return True


def _serve(runtime: Runtime, host: str, port: int, *, in_process_worker: bool) -> None:
    import uvicorn

    from doorstep.asgi import create_app

    if port and not _port_free(host, port):
        fail(f"port {port} on {host} is already in use; choose another with --port", 1)
    config = uvicorn.Config(
        create_app(runtime, in_process_worker=in_process_worker),
        host=host,
        port=port,
        log_config=None,
        access_log=False,
        server_header=False,
        lifespan="on",
    )
    # Uvicorn shuts down gracefully on SIGINT/SIGTERM and then re-raises the
    # signal; a requested stop is a success, so the re-raised interrupt is not an error.
    with contextlib.suppress(KeyboardInterrupt):
        uvicorn.Server(config).run()


def _version(value: bool) -> None:
    if value:
        typer.echo(f"doorstep {__version__}")
        raise typer.Exit(0)


@app.callback()
def main_callback(
    version: Annotated[
        bool,
        typer.Option("--version", callback=_version, is_eager=True, help="Print the version."),
    ] = False,
) -> None:
    """Doorstep command line."""


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="Address to bind.")] = None,
    port: Annotated[int | None, typer.Option(help="Port to bind.")] = None,
    migrate: Annotated[bool, typer.Option(help="Apply migrations before serving.")] = False,
) -> None:
    """Serve the API and pages.  Run `doorstep worker` beside it for jobs."""
    from doorstep.core import migrations

    settings = _settings(host=host, port=port)
    with _runtime(settings, "doorstep-serve") as runtime:
        if migrate or settings.uses_embedded_database:
            migrations.upgrade(runtime.engine, lock_timeout_ms=settings.migration_lock_timeout_ms)
        elif not migrations.is_current(runtime.engine):
            fail("the database schema is not current; run `doorstep migrate` or pass --migrate")
        _serve(runtime, settings.host, settings.port, in_process_worker=False)


@app.command()
def worker(
    concurrency: Annotated[int | None, typer.Option(min=1, help="Jobs run at once.")] = None,
    queue: Annotated[list[str] | None, typer.Option(help="Queues to take jobs from.")] = None,
) -> None:
    """Run a job worker until interrupted (Ctrl-C stops it after running jobs finish)."""
    from doorstep.core import migrations
    from doorstep.jobs.worker import run_worker

    settings = _settings(worker_concurrency=concurrency)
    with _runtime(settings, "doorstep-worker") as runtime:
        if not migrations.is_current(runtime.engine):
            fail("the database schema is not current; run `doorstep migrate` first")
        with contextlib.suppress(KeyboardInterrupt):
            asyncio.run(run_worker(runtime, queues=queue))


@app.command()
def migrate(
    revision: Annotated[str, typer.Argument(help="Target revision.")] = "head",
    down: Annotated[bool, typer.Option("--down", help="Downgrade to REVISION.")] = False,
    check: Annotated[
        bool, typer.Option("--check", help="Only report; exit 1 if not at head.")
    ] = False,
) -> None:
    """Apply (or with --down, revert) database migrations."""
    from doorstep.core import migrations

    settings = _settings()
    with _runtime(settings, "doorstep-migrate") as runtime:
        current = migrations.current_revision(runtime.engine)
        head = migrations.head_revision()
        if check:
            typer.echo(f"current: {current or 'none'}  head: {head}")
            raise typer.Exit(0 if current == head else 1)
        if down:
            migrations.downgrade(runtime.engine, revision)
        else:
            migrations.upgrade(
                runtime.engine, revision, lock_timeout_ms=settings.migration_lock_timeout_ms
            )
        typer.echo(f"database at {migrations.current_revision(runtime.engine) or 'base'}")


@app.command()
def demo(
    port: Annotated[int | None, typer.Option(help="Port to serve on.")] = None,
) -> None:
    """Run everything in one process on the embedded database; Ctrl-C stops it all."""
    from doorstep.core import migrations

    settings = _settings(port=port)
    with _runtime(settings, "doorstep-demo") as runtime:
        migrations.upgrade(runtime.engine, lock_timeout_ms=settings.migration_lock_timeout_ms)
        where = "embedded PostgreSQL" if settings.uses_embedded_database else "external database"
        from doorstep.demo import seed
        from doorstep.devices.demo import demo_agents, describe

        base = f"http://{settings.host}:{settings.port}"
        with demo_agents(runtime, url=f"ws://{settings.host}:{settings.port}/usp") as agents:
            seeded = seed(runtime, agents, base_url=base)
            typer.echo(
                f"\n  Doorstep {__version__} demo\n"
                f"  privacy center  {base}/\n"
                f"                  sign in as {seeded.email}, password {seeded.password}\n"
                f"  console         {seeded.console_link}\n"
                f"                  (a privacy officer; the link works once, for 15 minutes)\n"
                f"  API docs        {base}/docs\n"
                f"  data            {settings.data_dir} ({where})\n"
                f"  stop            Ctrl-C\n"
            )
            typer.echo(
                f"  simulated devices ({seeded.bound} bound to {seeded.email}; "
                "bind the others on the My devices page)"
            )
            typer.echo("\n".join(describe(agents)) + "\n")
            _serve(runtime, settings.host, settings.port, in_process_worker=True)
        typer.echo("doorstep: demo stopped")


def _add_area_commands() -> None:
    """Mount each area's command group (``doorstep datamap …``, ``doorstep audit …``).

    An area exposes ``app: typer.Typer`` in its ``cli`` module; groups whose
    module does not exist yet are simply absent.
    """
    import importlib

    for name, module in AREA_COMMANDS.items():
        try:
            area = importlib.import_module(module)
        except ModuleNotFoundError as exc:
            # Absent area (or its parent package): skip.  Anything else is a real error.
            if exc.name is None or not (module + ".").startswith(exc.name + "."):
                raise
            continue
        app.add_typer(area.app, name=name)


AREA_COMMANDS = {
    "datamap": "doorstep.privacy.datamap.cli",
    "audit": "doorstep.audit.cli",
    "keys": "doorstep.keys.cli",
    "consent": "doorstep.privacy.consent.cli",
    "staff": "doorstep.staff.cli",
    "accounts": "doorstep.accounts.cli",
    "notify": "doorstep.notify.cli",
    "controller": "doorstep.usp.cli",
    "agent-sim": "doorstep.usp.agent_sim.cli",
    "devices": "doorstep.devices.cli",
    "requests": "doorstep.privacy.requests.cli",
    "retention": "doorstep.privacy.retention.cli",
}
_add_area_commands()


def main() -> None:
    """Entry point of the ``doorstep`` script."""
    try:
        app()
    except KeyboardInterrupt:  # pragma: no cover - interactive
        sys.exit(130)
    except Exception as exc:
        # The traceback goes through the guarded log; the terminal gets one line.
        logging.getLogger("doorstep.cli").error("unexpected error", exc_info=exc)
        typer.echo(f"doorstep: unexpected {type(exc).__name__}; see the log above", err=True)
        sys.exit(1)
