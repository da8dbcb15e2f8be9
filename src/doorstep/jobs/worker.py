"""Build a Procrastinate app from the declared tasks and run workers.

Any number of workers (processes or in-process tasks) may run against one
database: Procrastinate fetches jobs with ``FOR UPDATE SKIP LOCKED``, so no job
runs twice, and records periodic runs so each happens once.  A worker starts a
new job when the NOTIFY of its insert arrives (never dropping one that arrives
during a fetch, see :class:`_Worker`) and polls every ``worker_poll_seconds``
only for what no notification announced.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Iterable
from typing import Any

import procrastinate
import procrastinate.jobs
import procrastinate.utils
import procrastinate.worker

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


class _Worker(procrastinate.worker.Worker):
    """Procrastinate's worker, except that a wake-up heard during an empty fetch is kept.

    Procrastinate 3.10.0 clears its new-job event *after* each fetch: a job
    committed while a fetch that finds nothing is under way sets the event (its
    NOTIFY), the clear drops it, and the job waits for the next poll
    (``worker_poll_seconds``).  Here the event is cleared *before* each fetch, so
    the fetch that follows a notification always starts after it.  The rest is
    Procrastinate's loop as it is (``tests/test_job_claims.py`` proves the
    difference); revisit on the next upgrade of the pinned version.
    """

    async def _fetch_and_process_jobs(self) -> None:
        while not self._stop_event.is_set():
            acquire_sem_task = asyncio.create_task(self._job_semaphore.acquire())
            job = None
            try:
                await procrastinate.utils.wait_any(acquire_sem_task, self._stop_event.wait())
                if self._stop_event.is_set():
                    break
                assert self.worker_id is not None
                self._new_job_event.clear()  # before the fetch: what it cannot see stays set
                job = await self.app.job_manager.fetch_job(
                    queues=self.queues, worker_id=self.worker_id
                )
            finally:
                if (not job or self._stop_event.is_set()) and acquire_sem_task.done():
                    self._job_semaphore.release()
            if not job:
                break
            self._start(job)

    def _start(self, job: procrastinate.jobs.Job) -> None:
        """Run ``job`` in a task of its own, as Procrastinate's loop does."""
        job_id = job.id
        context = procrastinate.JobContext(
            app=self.app,
            worker_name=self.worker_name,
            worker_queues=self.queues,
            additional_context=self.additional_context.copy() if self.additional_context else {},
            job=job,
            abort_reason=lambda: self._job_ids_to_abort.get(job_id) if job_id else None,
            start_timestamp=time.time(),
        )
        job_task = asyncio.create_task(
            self._process_job(context), name=f"process job {job.task_name}[{job.id}]"
        )
        self._running_jobs[job_task] = context

        def on_job_complete(task: asyncio.Task[Any]) -> None:
            del self._running_jobs[task]
            self._job_semaphore.release()

        job_task.add_done_callback(on_job_complete)


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
        # New jobs wake the worker through the NOTIFY of their insert (decision 0046); the
        # poll only finds what a notification missed (a worker that was reconnecting).
        "listen_notify": True,
        "fetch_job_polling_interval": runtime.settings.worker_poll_seconds,
        "update_heartbeat_interval": runtime.settings.worker_heartbeat_seconds,
        "stalled_worker_timeout": runtime.settings.worker_stalled_after_seconds,
    }
    if queues:
        options["queues"] = list(queues)
    from doorstep.jobs.stalled import recover_stalled_jobs

    await asyncio.to_thread(recover_stalled_jobs, runtime)
    async with app.open_async():
        log.info("worker %s started (concurrency %s)", name, options["concurrency"])
        await _Worker(app=app, **options).run()  # type: ignore[no-untyped-call]
        log.info("worker %s stopped", name)
