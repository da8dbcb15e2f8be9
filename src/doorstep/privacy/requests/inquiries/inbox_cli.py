"""``doorstep inbox serve``: the privacy mailbox's SMTP receiver on loopback, until Ctrl-C.

The operator's mail server forwards the privacy address to it; each message
becomes an inquiry with an auto-reply (:mod:`.mailbox`).  The shared helpers come
from :mod:`doorstep.core.commands`.
"""

from __future__ import annotations

import signal
import threading
from typing import Annotated

import typer

from doorstep.core.commands import cli_runtime, fail, load_cli_settings

app = typer.Typer(
    help="The privacy mailbox: receive forwarded e-mail as privacy inquiries.",
    no_args_is_help=True,
)


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Loopback address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port to listen on.", min=1, max=65535)] = 8025,
) -> None:
    """Receive mail by SMTP on loopback; each message becomes an inquiry with an auto-reply."""
    from doorstep.core.errors import ConfigurationError
    from doorstep.privacy.requests.inquiries.mailbox import require_loopback, start_mailbox

    try:
        require_loopback(host)
    except ConfigurationError as exc:
        fail(exc.detail, 2)
    settings = load_cli_settings()
    stop = threading.Event()
    with cli_runtime(settings, "doorstep-inbox") as runtime:
        try:
            controller = start_mailbox(runtime, host=host, port=port)
        except (OSError, RuntimeError):
            fail(f"cannot listen on {host}:{port}", 1)
        for name in (signal.SIGINT, signal.SIGTERM):
            signal.signal(name, lambda *_: stop.set())
        typer.echo(f"doorstep inbox: SMTP on {host}:{port}; Ctrl-C stops")
        try:
            stop.wait()
        finally:
            controller.stop()
    typer.echo("doorstep inbox: stopped")
