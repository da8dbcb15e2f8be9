"""What every ``doorstep`` command shares: one-line failures, settings, a checked runtime.

The root command (:mod:`doorstep.cli`) and each area's command group
(``doorstep/<area>/cli.py``) start with these three:

* :func:`fail` prints ``doorstep: <message>`` on stderr and exits with the
  command's exit code (1 the operation failed, 2 bad usage or configuration);
* :func:`load_cli_settings` builds the settings from the environment (a bad
  setting is exit 2) and sets up the guarded logging;
* :func:`cli_runtime` runs the start-up checks of the declarations and opens
  the :class:`~doorstep.core.runtime.Runtime`, joining a running demo's
  embedded database for operator commands (:func:`join_running_demo`).

The start-up checks read every area's declarations, which this module (below
the areas) must not import: the root command hands them down with
:func:`startup_checks` around each command it runs, and :func:`cli_runtime`
refuses to open a runtime without them.

Importing this module costs Typer only: settings and the database are imported
when a function runs, so an area's command group can import it at module level
and ``doorstep --help`` stays cheap.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from contextvars import ContextVar
from typing import TYPE_CHECKING, NoReturn

import typer

if TYPE_CHECKING:
    from doorstep.core.runtime import Runtime
    from doorstep.core.settings import Settings

__all__ = ["cli_runtime", "fail", "join_running_demo", "load_cli_settings", "startup_checks"]

#: The start-up checks of the command being run (set by :func:`startup_checks`).
_CHECKS: ContextVar[Callable[[Settings], None] | None] = ContextVar(
    "doorstep_startup_checks", default=None
)


def fail(message: str, code: int = 1) -> NoReturn:
    """Print ``doorstep: <message>`` to stderr and exit with ``code``."""
    typer.echo(f"doorstep: {message}", err=True)
    raise typer.Exit(code)


def load_cli_settings(**overrides: object) -> Settings:
    """The settings from the environment with the non-None ``overrides``; logging set up.

    A configuration error is :func:`fail` with exit code 2 and the error's detail
    (which names the setting, never its value).
    """
    from doorstep.core.errors import ConfigurationError
    from doorstep.core.logging import configure_logging
    from doorstep.core.settings import load_settings

    try:
        settings = load_settings(**{k: v for k, v in overrides.items() if v is not None})
    except ConfigurationError as exc:
        fail(exc.detail, 2)
    configure_logging(settings)
    return settings


def join_running_demo(settings: Settings) -> Settings:
    """``settings`` on the database of a demo running on the same data directory, if any.

    Operator commands (``staff sign-in-link``, ``requests list`` …) would
    otherwise stop at the data directory's lock while the demo runs.  Settings
    with an external database are returned unchanged.
    """
    from pydantic import SecretStr

    from doorstep.core.embedded import running_connection

    if not settings.uses_embedded_database:
        return settings
    url = running_connection(settings.data_dir)
    if url is None:
        return settings
    return settings.model_copy(update={"database_url": SecretStr(url)})


@contextlib.contextmanager
def startup_checks(check: Callable[[Settings], None]) -> Iterator[None]:
    """Inside, :func:`cli_runtime` runs ``check(settings)`` before opening a runtime.

    ``check`` raises :class:`~doorstep.core.errors.ConfigurationError` (or
    another :class:`~doorstep.core.errors.DoorstepError`) on a bad declaration.
    The root command wraps every command it runs in this; tests that run an
    area's group on their own runtime never reach :func:`cli_runtime`.
    """
    token = _CHECKS.set(check)
    try:
        yield
    finally:
        _CHECKS.reset(token)


@contextlib.contextmanager
def cli_runtime(
    settings: Settings, application_name: str, *, join_demo: bool = True
) -> Iterator[Runtime]:
    """Run the start-up checks, open the runtime; errors become :func:`fail`.

    The checks are those of the enclosing :func:`startup_checks` (RuntimeError
    outside one: a command must not open a runtime unchecked).  A configuration
    or input error exits with 2, any other :class:`DoorstepError` (database
    unreachable, data directory busy …) with 1.  With ``join_demo`` (operator
    commands) a running demo's embedded database is used; ``serve``, ``worker``,
    ``migrate`` and ``demo`` pass False and so are refused while another process
    holds the data directory.
    """
    from doorstep.core.errors import ConfigurationError, DoorstepError, InvalidInputError
    from doorstep.core.runtime import open_runtime

    check = _CHECKS.get()
    if check is None:
        raise RuntimeError("no start-up checks: run the command under `doorstep`")
    try:
        check(settings)
        if join_demo:
            settings = join_running_demo(settings)
        with open_runtime(settings, application_name=application_name) as runtime:
            yield runtime
    except (ConfigurationError, InvalidInputError) as exc:
        fail(exc.detail, 2)
    except DoorstepError as exc:
        fail(exc.detail, 1)
