"""Run ``doorstep …`` in the test process (Typer's runner), or as a process when that is the point.

:func:`doorstep` is what CLI behaviour tests use: same arguments, environment,
exit code, stdout and stderr as the installed command, without paying the
interpreter's and the imports' start-up once per call (a test's duration must
not depend on how slowly a process starts on a loaded machine).  It takes the
environment on top of this process's (a ``None`` value unsets a variable) and
restores the logging set-up the command replaced, so pytest's own capture
keeps working.

:func:`doorstep_process` spawns ``python -m doorstep``; keep it for the few tests
whose subject is the process itself (the entry point, a demo started and
stopped with Ctrl-C).
"""

from __future__ import annotations

import contextlib
import logging
import os
import subprocess
import sys
from collections.abc import Iterator, Mapping

from typer.testing import CliRunner

#: Loggers whose set-up ``configure_logging`` changes besides the root's.
_LOGGERS = (
    "uvicorn",
    "uvicorn.error",
    "uvicorn.access",
    "procrastinate",
    "alembic",
    "websockets",
    "uvicorn.protocols",
    "uvicorn.protocols.websockets",
)


@contextlib.contextmanager
def logging_kept() -> Iterator[None]:
    """Put back the root's handlers and level, and the named loggers' set-up, afterwards."""
    root = logging.getLogger()
    saved_root = (list(root.handlers), root.level)
    saved = {
        name: (list(logger.handlers), logger.level, logger.propagate, logger.disabled)
        for name in _LOGGERS
        if (logger := logging.getLogger(name))
    }
    try:
        yield
    finally:
        root.handlers[:] = saved_root[0]
        root.setLevel(saved_root[1])
        for name, (handlers, level, propagate, disabled) in saved.items():
            logger = logging.getLogger(name)
            logger.handlers[:] = handlers
            logger.setLevel(level)
            logger.propagate = propagate
            logger.disabled = disabled


def doorstep(
    *args: str,
    env: Mapping[str, str | None] | None = None,
    timeout: float | None = None,
    stdin: str | None = None,
) -> subprocess.CompletedProcess[str]:
    """Run ``doorstep ARGS`` in this process; ``timeout`` is accepted and ignored.

    ``stdin`` is what the command reads from standard input (a pipe, not a terminal).

    An exception the command does not turn into an exit code is raised here, so
    the test shows its traceback.
    """
    from doorstep.cli import app

    del timeout
    with logging_kept():
        result = CliRunner().invoke(app, list(args), env=dict(env or {}), input=stdin)
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    return subprocess.CompletedProcess(
        ["doorstep", *args], result.exit_code, result.stdout, result.stderr
    )


def doorstep_process(
    *args: str, env: Mapping[str, str] | None = None, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    """Run ``python -m doorstep ARGS`` as a process, with ``env`` on top of this one's."""
    return subprocess.run(
        [sys.executable, "-m", "doorstep", *args],
        env={**os.environ, **(env or {})},
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
