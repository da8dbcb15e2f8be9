"""Task declarations, kept as plain data until a worker builds an app from them.

A task is a function ``fn(ctx, **ids)``; ``ctx`` is a :class:`JobContext` with the
process :class:`~doorstep.core.runtime.Runtime`.  Tasks are retried with
exponential backoff by default (2, 4, 8 … seconds, 5 attempts), so a passing
failure (a lost connection, a busy mail server) heals itself.  A task must be
idempotent: a retried or re-run job must leave the same end state.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from doorstep.core.runtime import Runtime

DEFAULT_MAX_ATTEMPTS = 5
DEFAULT_BACKOFF_SECONDS = 2


@dataclass(frozen=True)
class JobContext:
    """What a running task gets besides its arguments."""

    runtime: Runtime
    job_id: int | None
    attempt: int


TaskFunction = Callable[..., Any]


@dataclass(frozen=True)
class TaskSpec:
    """One declared task."""

    name: str
    function: TaskFunction
    queue: str = "default"
    max_attempts: int = DEFAULT_MAX_ATTEMPTS
    backoff_seconds: int = DEFAULT_BACKOFF_SECONDS
    cron: str | None = None


_TASKS: dict[str, TaskSpec] = {}


def _register(spec: TaskSpec) -> None:
    existing = _TASKS.get(spec.name)
    if existing is not None and existing.function is not spec.function:
        raise ValueError(f"task {spec.name!r} is declared twice")
    _TASKS[spec.name] = spec


def job(
    name: str,
    *,
    queue: str = "default",
    max_attempts: int = DEFAULT_MAX_ATTEMPTS,
    backoff_seconds: int = DEFAULT_BACKOFF_SECONDS,
) -> Callable[[TaskFunction], TaskFunction]:
    """Declare ``fn(ctx, **ids)`` as the task ``name``."""

    def decorate(function: TaskFunction) -> TaskFunction:
        _register(TaskSpec(name, function, queue, max_attempts, backoff_seconds))
        return function

    return decorate


def periodic(
    name: str, *, cron: str, queue: str = "default"
) -> Callable[[TaskFunction], TaskFunction]:
    """Declare ``fn(ctx, timestamp)`` to run on ``cron`` (UTC, five fields).

    Procrastinate records each scheduled run in the database, so with any number
    of workers a run happens once.
    """

    def decorate(function: TaskFunction) -> TaskFunction:
        _register(TaskSpec(name, function, queue, max_attempts=1, cron=cron))
        return function

    return decorate


def declared_tasks() -> dict[str, TaskSpec]:
    """Every declared task by name.

    Areas declare their tasks in their ``tasks`` modules; the composition root
    (:mod:`doorstep.wiring`) imports them all, so a process that imported it knows
    every task.  This package imports no area.
    """
    return dict(_TASKS)
