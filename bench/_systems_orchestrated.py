"""Erasures through the real orchestration of ``bench_systems``: the jobs' bodies, no queue.

:func:`orchestrated_rate` first opens, verifies and approves one deletion request per
subject (untimed: approving fans out, creating each system's ``request_systems``
task with its sealed identifiers and queueing the jobs nobody runs here), then
times what the workers would run: the ``requests.erase`` job's body for a batch of
``requests_erase_batch`` requests (Doorstep's own erasure of all of them, one
transaction, decision 0051: a job claims the waiting ones) and one attempt per system task
(:func:`doorstep.privacy.requests.systems.run.attempt`: lock and mark the task,
open its sealed identifiers, get the pooled connector, call the system outside any
transaction, record the outcome, audit, and complete the request when the last
part settles).  Only the job queue's own cost (fetching, marking jobs done) is
left out.  This is the figure a deployment's workers pay per subject.  Since
decision 0048 an attempt carries up to ``requests_systems_batch`` fresh tasks of its
system along, so most subjects' attempts find their part already settled.

:func:`alone_rate` is its baseline: the same lifecycle with no system reached.
"""

from __future__ import annotations

import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace

import sqlalchemy as sa

from doorstep.core.database import transaction
from doorstep.core.errors import DoorstepError
from doorstep.privacy.requests import services as requests
from doorstep.privacy.requests.context import RequestContext
from doorstep.privacy.requests.erasure_requests import erase_for_requests
from doorstep.privacy.requests.fulfil import approve
from doorstep.privacy.requests.systems.fanout import RUN_TASK
from doorstep.privacy.requests.systems.models import RequestSystem
from doorstep.privacy.requests.systems.run import attempt
from doorstep.wiring import Services, build_services

ACTOR = "system:bench"
_WAITING = sa.text(
    "SELECT EXISTS (SELECT 1 FROM procrastinate_jobs WHERE queueing_lock = :lock "
    "AND status = 'todo')"
)
GROUND = "NO_PERMISSION"


def _approved(
    services: Services, subjects: list[uuid.UUID], *, then: sa.TextClause | None = None
) -> list[uuid.UUID]:
    """One approved deletion request per subject (a subject that cannot have one is left
    out), all in one transaction with a savepoint each; their ids.  ``then`` runs in the
    same transaction with ``ids`` (the requests' ids as text) before the commit."""
    ctx = RequestContext.of(services)
    made = []
    with transaction(services.runtime.sessions) as session:
        for subject in subjects:
            try:
                with session.begin_nested():
                    row = requests.open_request(
                        session,
                        ctx,
                        subject_id=subject,
                        kind="deletion",
                        channel="app",
                        actor=ACTOR,
                        ground=GROUND,
                    )
                    requests.verify(session, ctx, row.id, method="session", actor=ACTOR)
                    approve(session, ctx, row.id, actor=ACTOR)
                    made.append(row.id)
            except DoorstepError:  # an open request, a fee, a refusal: not this subject
                continue
        if then is not None:
            session.execute(then, {"ids": [str(request_id) for request_id in made]})
    return made


def _carry_out(services: Services, request_ids: list[uuid.UUID]) -> list[str]:
    """One erase job's body for the batch, then an attempt for each system task whose job
    still waits (a worker fetches only those; a batched attempt ends its companions')."""
    runtime = services.runtime
    ctx = RequestContext.of(services)
    with transaction(runtime.sessions) as session:
        erase_for_requests(session, ctx, services.keys, request_ids, actor=ACTOR)
        tasks = list(
            session.scalars(
                sa.select(RequestSystem.id).where(RequestSystem.request_id.in_(request_ids))
            )
        )
    states = []
    for task in tasks:
        with transaction(runtime.sessions) as session:
            waits = session.scalar(_WAITING, {"lock": f"{RUN_TASK}:{task}"})
            state = str(
                session.scalar(sa.select(RequestSystem.state).where(RequestSystem.id == task))
            )
        states.append(attempt(ctx, runtime.sessions, task) if waits else state)
    return states


def _batches(services: Services, request_ids: list[uuid.UUID]) -> list[list[uuid.UUID]]:
    size = services.runtime.settings.requests_erase_batch
    return [request_ids[n : n + size] for n in range(0, len(request_ids), size)]


def orchestrated_rate(
    services: Services, subjects: list[uuid.UUID], threads: int
) -> tuple[float, int, int]:
    """Erasures per second through the orchestration on ``threads`` threads; how many
    requests were carried out and how many of their system tasks ended ``done``."""
    request_ids = _approved(services, subjects)
    started = time.perf_counter()
    with ThreadPoolExecutor(threads) as pool:
        states = list(pool.map(lambda b: _carry_out(services, b), _batches(services, request_ids)))
    rate = len(request_ids) / (time.perf_counter() - started)
    return rate, len(request_ids), sum(state == "done" for found in states for state in found)


def _own_part(services: Services, request_ids: list[uuid.UUID]) -> None:
    ctx = RequestContext.of(services)
    with transaction(services.runtime.sessions) as session:
        erase_for_requests(session, ctx, services.keys, request_ids, actor=ACTOR)


def alone_rate(services: Services, subjects: list[uuid.UUID], threads: int) -> float:
    """The baseline: erasures per second through the same request lifecycle (approved
    requests, the ``requests.erase`` job's body) with no connected system reached."""
    runtime = services.runtime
    settings = runtime.settings.model_copy(update={"requests_systems": ()})
    alone = build_services(replace(runtime, settings=settings))
    request_ids = _approved(alone, subjects)
    started = time.perf_counter()
    with ThreadPoolExecutor(threads) as pool:
        list(pool.map(lambda b: _own_part(alone, b), _batches(alone, request_ids)))
    return len(request_ids) / (time.perf_counter() - started)
