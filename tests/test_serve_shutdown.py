"""A stopping server closes what is still open after a bounded wait, instead of hanging.

Found by the demo's stop test: a WebSocket that uvicorn accepted while it was
already shutting down is never asked to close, and without a bound the process
waited for it forever (about one stop in seven under load).
"""

from __future__ import annotations

from typing import Any

import pytest
import uvicorn

from doorstep import cli
from doorstep.core.runtime import Runtime


def test_serve_bounds_the_graceful_shutdown(
    runtime: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen: list[uvicorn.Config] = []

    def run(self: uvicorn.Server, *args: Any, **kwargs: Any) -> None:
        seen.append(self.config)

    monkeypatch.setattr(uvicorn.Server, "run", run)
    cli._serve(runtime, "127.0.0.1", 0, in_process_worker=False)
    assert [config.timeout_graceful_shutdown for config in seen] == [cli.GRACEFUL_SHUTDOWN_SECONDS]
    assert 0 < cli.GRACEFUL_SHUTDOWN_SECONDS <= 30
