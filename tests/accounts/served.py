"""The app served for real by the ``doorstep serve`` code path, in a thread.

:func:`serve_command` runs ``doorstep.cli._serve`` — the uvicorn configuration of
``doorstep serve`` and the demo, proxy options included — on 127.0.0.1 and a port the
system picks, and stops it on exit.  Use it with the ``committed`` runtime: the server's
requests run in transactions of their own, and what they commit is what the next
request (or the test) sees.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Iterator
from typing import Any
from unittest import mock

from doorstep.core.runtime import Runtime


@contextlib.contextmanager
def serve_command(runtime: Runtime) -> Iterator[str]:
    """Serve ``runtime`` as ``doorstep serve`` does; yield its base URL."""
    import uvicorn

    from doorstep import cli

    servers: list[uvicorn.Server] = []
    errors: list[BaseException] = []

    class Recorded(uvicorn.Server):
        def __init__(self, config: uvicorn.Config, *args: Any, **kwargs: Any) -> None:
            super().__init__(config, *args, **kwargs)
            servers.append(self)

    def target() -> None:
        try:
            cli._serve(runtime, "127.0.0.1", 0, in_process_worker=False)
        except BaseException as exc:  # reported by the test's thread
            errors.append(exc)

    thread = threading.Thread(target=target, name="doorstep-serve-test", daemon=True)
    with mock.patch.object(uvicorn, "Server", Recorded):
        thread.start()
        deadline = time.monotonic() + 30
        while not (servers and servers[0].started):
            assert not errors, errors
            assert thread.is_alive() and time.monotonic() < deadline, "server did not start"
            time.sleep(0.02)
    server = servers[0]
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(30)
    assert not errors, errors
