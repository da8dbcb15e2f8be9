"""Carrying out an automatic export or erasure before the filing request is answered (0046).

The filing transaction commits first, unchanged: the request, its
verification, its notices and its job (``requests.export`` or
``requests.erase``, :mod:`.fulfil`).  Then :func:`carry_out`, in a transaction
of its own, claims that job (:mod:`doorstep.jobs.claim`: no worker takes it
meanwhile), does the job's own work (:func:`.downloads.prepare`,
:func:`.erasure_requests.erase_for_request`, with the job's actor) and marks the job
succeeded, all in one commit; the requester's answer then says ``ready`` or
``completed``.  Every guarantee of the job holds because it *is* the job's work
in the job's one transaction, done once whoever does it:

* a worker that fetched the job first keeps it (the claim finds nothing) and the
  answer says the request is under way, as before;
* every statement runs under ``statement_timeout`` = ``requests_inline_ms``, so a
  subject with a great deal of data does not hold the HTTP request: past the
  budget (or on any error) the transaction rolls back, the job is waiting again
  as it was committed, and the workers are woken for it at once;
* a process that dies half-way leaves the job waiting, committed with the
  request; a worker takes it at its next poll.  An erasure's keyring tombstone,
  written before its statement (decision 0014), is never written before the
  request is on record, because the request committed first.

``requests_inline_ms = 0`` leaves every such request to the workers.
"""

from __future__ import annotations

import logging
import uuid

import sqlalchemy as sa
from sqlalchemy.orm import Session, load_only

from doorstep.audit.entries import system_actor
from doorstep.core.database import transaction
from doorstep.core.metrics import JOBS_FINISHED
from doorstep.jobs.claim import claim, finish, waiting, wake
from doorstep.privacy.requests.context import RequestContext
from doorstep.privacy.requests.downloads import EXPORT_KINDS, prepare
from doorstep.privacy.requests.erasure_requests import erase_for_request
from doorstep.privacy.requests.fulfil import ERASE_TASK, EXPORT_TASK
from doorstep.privacy.requests.models import RequestExport, RequestKind, SubjectRequest
from doorstep.privacy.requests.services import get

log = logging.getLogger("doorstep.requests.inline")

_TASKS = dict.fromkeys(EXPORT_KINDS, EXPORT_TASK) | {RequestKind.DELETION: ERASE_TASK}


def _work(session: Session, ctx: RequestContext, task: str, request_id: uuid.UUID) -> None:
    """What the jobs of :mod:`.tasks` do, with their actors."""
    if task == EXPORT_TASK:
        prepare(session, ctx, request_id, actor=system_actor(EXPORT_TASK))
    else:
        keys = ctx.require_services().keys
        erase_for_request(session, ctx, keys, request_id, actor=system_actor(ERASE_TASK))


def _export(session: Session, request_id: uuid.UUID) -> RequestExport | None:
    """The stored export's row without the archive (the answer needs its expiry only)."""
    query = (
        sa.select(RequestExport)
        .where(RequestExport.request_id == request_id)
        .options(load_only(RequestExport.request_id, RequestExport.expires_at))
    )
    return session.scalars(query).one_or_none()


def carry_out(
    ctx: RequestContext, request_id: uuid.UUID, kind: RequestKind
) -> tuple[SubjectRequest, RequestExport | None] | None:
    """Do the request's waiting job now; the request and its export, or None if not done here.

    None: the kind has no such job, no job waits (not automatic, or a worker has
    it), ``requests_inline_ms`` is 0, or the work failed or ran past the budget
    (logged with the exception's class only; a worker does it).  Call it only
    after the transaction that enqueued the job has committed.
    """
    task = _TASKS.get(kind)
    budget = ctx.settings.requests_inline_ms
    if task is None or budget <= 0:
        return None
    sessions = ctx.require_services().runtime.sessions
    lock = f"{task}:{request_id}"
    try:
        with transaction(sessions) as session:
            claimed = claim(session, task, lock, statement_timeout_ms=budget)
            if claimed is None:
                return None
            _work(session, ctx, task, request_id)
            finish(session, claimed)  # and the timeout as it was (a test's outer transaction)
            # As the work left it: in the session already, so usually without a query.
            row = session.get(SubjectRequest, request_id) or get(session, request_id)
            stored = _export(session, request_id) if kind in EXPORT_KINDS else None
    except Exception as exc:
        log.warning(
            "request not carried out at once; a worker takes it",
            extra={"request_id": str(request_id), "task": task, "error": type(exc).__name__},
        )
        with transaction(sessions) as session:
            job = waiting(session, task, lock)
            if job is not None:
                wake(session, job)
        return None
    JOBS_FINISHED.labels(task, "succeeded").inc()
    return row, stored
