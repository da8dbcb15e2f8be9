"""Build a Procrastinate app from the declared tasks and run workers.

Any number of workers (processes or in-process tasks) may run against one
database: Procrastinate fetches jobs with ``FOR UPDATE SKIP LOCKED``, so no job
runs twice, and records periodic runs so each happens once.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable
from typing import Any

import procrastinate

from doorstep.core.database import libpq_url
from doorstep.core.metrics import JOBS_FINISHED
from doorstep.core.runtime import Runtime
from doorstep.jobs.registry import JobContext, TaskSpec, declared_tasks

log = logging.getLogger("doorstep.worker")


def _adapt(spec: TaskSpec, runtime: Runtime) -> Any:
    def run(context: procrastinate.JobContext, **kwargs: Any) -> Any:
        job = context.job
        ctx = JobContext(runtime=runtime, job_id=job.id, attempt=int(job.attempts or 0) + 1)
        try:
            result = spec.function(ctx, **kwargs)
        except BaseException:
            JOBS_FINISHED.labels(spec.name, "failed").inc()
            raise
        JOBS_FINISHED.labels(spec.name, "succeeded").inc()
        return result

    run.__name__ = spec.name.replace(".", "_").replace(":", "_")
    run.__qualname__ = run.__name__
    return run


def build_job_app(runtime: Runtime) -> procrastinate.App:
    """A Procrastinate app with every declared task, bound to ``runtime``'s database."""
    connector = procrastinate.PsycopgConnector(
        conninfo=libpq_url(runtime.database_url),
        min_size=1,
        max_size=max(2, runtime.settings.worker_concurrency + 1),
    )
    app = procrastinate.App(connector=connector)
    for spec in declared_tasks().values():
        retry = (
            procrastinate.RetryStrategy(
                max_attempts=spec.max_attempts, exponential_wait=spec.backoff_seconds
            )
            if spec.max_attempts > 1
            else False
        )
        task = app.task(name=spec.name, queue=spec.queue, retry=retry, pass_context=True)(
            _adapt(spec, runtime)
        )
        if spec.cron is not None:
            app.periodic(cron=spec.cron, periodic_id=spec.name)(task)
    return app


async def run_worker(
    runtime: Runtime,
    *,
    concurrency: int | None = None,
    queues: Iterable[str] | None = None,
    wait: bool = True,
    install_signal_handlers: bool = True,
    name: str = "doorstep-worker",
) -> None:
    """Run a worker until cancelled (``wait=True``) or until the queues are empty."""
    app = build_job_app(runtime)
    options: dict[str, Any] = {
        "concurrency": concurrency or runtime.settings.worker_concurrency,
        "wait": wait,
        "install_signal_handlers": install_signal_handlers,
        "name": name,
        "delete_jobs": "never",
        "update_heartbeat_interval": runtime.settings.worker_heartbeat_seconds,
        "stalled_worker_timeout": runtime.settings.worker_stalled_after_seconds,
    }
    if queues:
        options["queues"] = list(queues)
    from doorstep.jobs.stalled import recover_stalled_jobs

    await asyncio.to_thread(recover_stalled_jobs, runtime)
    async with app.open_async():
        log.info("worker %s started (concurrency %s)", name, options["concurrency"])
        await app.run_worker_async(**options)
        log.info("worker %s stopped", name)
