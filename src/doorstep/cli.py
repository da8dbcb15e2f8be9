"""The ``doorstep`` command.

Exit codes: 0 success; 1 the operation failed (database unreachable, data
directory busy, migrations not current); 2 bad usage or configuration.
Errors are one line on stderr naming what is wrong, never a secret or a
personal-data value.

Starting is cheap: this module imports only Typer and the shared helpers of
:mod:`doorstep.core.commands` (which import nothing more at first); settings,
the database and each area's command group (:mod:`doorstep._cli_commands`) are
imported when a command runs, so ``doorstep --version``, ``doorstep --help`` or
a usage error loads no area, no pydantic and no SQLAlchemy.  The helpers live
below this module so that the areas' command groups never import it.
"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING, Annotated

import typer

from doorstep import __version__
from doorstep._cli_commands import Commands
from doorstep.core.commands import cli_runtime, fail, load_cli_settings, startup_checks

if TYPE_CHECKING:
    from fastapi import APIRouter

    from doorstep.core.runtime import Runtime
    from doorstep.core.settings import Settings

app = typer.Typer(
    name="doorstep",
    help="Doorstep: a cloud for home routers and gateways whose privacy policy is executable.",
    cls=Commands,
    rich_markup_mode=None,
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


def _check_datamap(settings: Settings) -> None:
    """Start-up checks of the pack in force: data map, retention, requests, consent, staff.

    The pack is the one ``settings.policy_pack`` names, loaded by the composition
    root (:func:`doorstep.wiring.policy_of`, once per process: the services reuse it).
    Every command that opens a runtime runs them first (:func:`main_callback`
    hands them to :func:`doorstep.core.commands.cli_runtime`).
    """
    from doorstep.packcheck.check import require_valid_pack
    from doorstep.privacy.datamap.registry import validate_datamap
    from doorstep.privacy.purposes.gate import PurposeGate
    from doorstep.privacy.requests.checks import validate_requests
    from doorstep.privacy.retention.registry import validate_retention
    from doorstep.schema import metadata
    from doorstep.staff.permissions import validate_matrix
    from doorstep.wiring import policy_of

    if (settings.policy_pack / "datamap.yaml").is_file():  # else policy_of names the setting
        require_valid_pack(settings.policy_pack, metadata)  # as `doorstep pack check` lists them
    pack, terms = policy_of(settings)
    validate_datamap(metadata, pack)
    validate_retention(metadata, pack, settings)
    validate_requests(settings, pack, metadata)
    PurposeGate.from_datamap(metadata, pack, terms)
    validate_matrix(pack)


def _port_free(host: str, port: int) -> bool:
    import socket

    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError:
            return False
    return True


def _check_port(host: str, port: int, *, option: str = "--port") -> None:
    """Stop (exit 1) when ``port`` cannot be bound: checked before anything is started."""
    if port and not _port_free(host, port):
        fail(f"port {port} on {host} is already in use; choose another with {option}", 1)


#: Seconds a stopping server waits for open requests and WebSockets before closing them.
GRACEFUL_SHUTDOWN_SECONDS = 10


def _serve(
    runtime: Runtime,
    host: str,
    port: int,
    *,
    in_process_worker: bool,
    extra_routers: Sequence[APIRouter] = (),
) -> None:
    import uvicorn

    from doorstep.asgi import create_app
    from doorstep.core.errors import ConfigurationError
    from doorstep.usp.mtp.tls import uvicorn_tls_options
    from doorstep.usp.mtp.websocket import report_tls_refusal

    _check_port(host, port)  # again: it may have been taken meanwhile
    application = create_app(runtime, in_process_worker=in_process_worker)
    for router in extra_routers:
        application.include_router(router)
    # With serve_tls_certfile set, serve terminates TLS and reads agents' certificates.
    try:
        tls = uvicorn_tls_options(runtime.settings, report_tls_refusal(application))
    except ConfigurationError as exc:
        fail(str(exc), 2)
    config = uvicorn.Config(
        application,
        host=host,
        port=port,
        log_config=None,
        access_log=False,
        server_header=False,
        lifespan="on",
        proxy_headers=False,  # the app reads them, from trusted proxies only (core.proxies)
        # A stop waits this long for open connections, then closes them: a WebSocket
        # accepted while uvicorn was already shutting down is never asked to close, and
        # without a bound the process would wait for it forever.
        timeout_graceful_shutdown=GRACEFUL_SHUTDOWN_SECONDS,
        **tls,
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
    ctx: typer.Context,
    version: Annotated[
        bool,
        typer.Option("--version", callback=_version, is_eager=True, help="Print the version."),
    ] = False,
) -> None:
    """Doorstep command line."""
    # Compose the process before any command runs (not for --help or --version, which
    # exit while parsing): the composition root loads every model, so the whole schema
    # is there, and every area's jobs, so a worker knows them all.
    import doorstep.wiring  # noqa: F401

    # The command about to run (an area's too) checks the declarations first.
    ctx.with_resource(startup_checks(_check_datamap))


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="Address to bind.")] = None,
    port: Annotated[int | None, typer.Option(help="Port to bind.")] = None,
    migrate: Annotated[bool, typer.Option(help="Apply migrations before serving.")] = False,
) -> None:
    """Serve the API and pages.  Run `doorstep worker` beside it for jobs."""
    from doorstep.core import migrations

    settings = load_cli_settings(host=host, port=port)
    _check_port(settings.host, settings.port)
    with cli_runtime(settings, "doorstep-serve", join_demo=False) as runtime:
        if migrate or settings.uses_embedded_database:
            migrations.upgrade(runtime.engine, lock_timeout_ms=settings.migration_lock_timeout_ms)
        elif not migrations.is_current(runtime.engine):
            fail("the database schema is not current; run `doorstep migrate` or pass --migrate")
        _serve(runtime, settings.host, settings.port, in_process_worker=False)


@app.command()
def worker(
    concurrency: Annotated[int | None, typer.Option(min=1, help="Jobs run at once.")] = None,
    queue: Annotated[list[str] | None, typer.Option(help="Queues to take jobs from.")] = None,
    metrics_port: Annotated[
        int | None,
        typer.Option(
            min=0, max=65535, help="Serve Prometheus metrics on this port (metrics_bind); 0: off."
        ),
    ] = None,
) -> None:
    """Run a job worker until interrupted (Ctrl-C stops it after running jobs finish)."""
    import asyncio

    from doorstep.core import migrations
    from doorstep.jobs.worker import run_worker

    settings = load_cli_settings(worker_concurrency=concurrency)
    if metrics_port:
        _check_port(str(settings.metrics_bind), metrics_port, option="--metrics-port")
    with cli_runtime(settings, "doorstep-worker", join_demo=False) as runtime:
        if not migrations.is_current(runtime.engine):
            fail("the database schema is not current; run `doorstep migrate` first")
        with contextlib.ExitStack() as stack, contextlib.suppress(KeyboardInterrupt):
            if metrics_port:
                from doorstep.metrics import start_process_metrics

                stack.callback(start_process_metrics(runtime, metrics_port).close)
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

    settings = load_cli_settings()
    with cli_runtime(settings, "doorstep-migrate", join_demo=False) as runtime:
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
    """Run everything in one process on the embedded database; Ctrl-C stops it all.

    Every precondition is checked before anything starts: the settings, the
    port, the data map, then the data directory's lock.  While it runs, the
    embedded database's connection is published in the data directory, so the
    operator commands join it, and e-mail and SMS go to the demo mailbox page.
    """
    from doorstep.core import migrations
    from doorstep.core.embedded import publish_connection
    from doorstep.core.errors import ConfigurationError
    from doorstep.demo import SUBSCRIBER, SUBSCRIBER_PHONE, banner, install_mailbox, seed
    from doorstep.demo_systems import connect as demo_systems
    from doorstep.devices.demo import demo_agents
    from doorstep.notify import demo_mailbox

    settings = load_cli_settings(port=port)
    _check_port(settings.host, settings.port)
    with (
        cli_runtime(settings, "doorstep-demo", join_demo=False) as runtime,
        contextlib.ExitStack() as stack,
    ):
        try:  # after the data directory's lock: a second demo is told who holds it
            demo_systems.check(settings)
        except ConfigurationError as exc:
            fail(str(exc), 1)
        migrations.upgrade(runtime.engine, lock_timeout_ms=settings.migration_lock_timeout_ms)
        where = "embedded PostgreSQL" if settings.uses_embedded_database else "external database"
        if settings.uses_embedded_database:
            stack.enter_context(publish_connection(settings.data_dir, runtime.database_url))
        # The connected systems first: they point the pack's shop at the demo's server.
        connected = demo_systems.connect(runtime, stack, email=SUBSCRIBER, phone=SUBSCRIBER_PHONE)
        mailbox = install_mailbox(runtime)
        base = f"http://{settings.host}:{settings.port}"
        agents = stack.enter_context(
            demo_agents(runtime, url=f"ws://{settings.host}:{settings.port}/usp")
        )
        seeded = seed(runtime, agents, base_url=base)
        typer.echo(
            banner(
                seeded,
                agents,
                base_url=base,
                mailbox=f"{base}{demo_mailbox.PATH}",
                data=f"{settings.data_dir} ({where})",
                connected=connected,
            )
        )
        _serve(
            runtime,
            settings.host,
            settings.port,
            in_process_worker=True,
            extra_routers=[demo_mailbox.router(mailbox)],
        )
    typer.echo("doorstep: demo stopped")


def main() -> None:
    """Entry point of the ``doorstep`` script."""
    try:
        app()
    except KeyboardInterrupt:  # pragma: no cover - interactive
        sys.exit(130)
    except Exception as exc:
        import logging

        # The traceback goes through the guarded log; the terminal gets one line.
        logging.getLogger("doorstep.cli").error("unexpected error", exc_info=exc)
        typer.echo(f"doorstep: unexpected {type(exc).__name__}; see the log above", err=True)
        sys.exit(1)
