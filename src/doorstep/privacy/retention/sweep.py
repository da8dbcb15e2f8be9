"""Execute the rules: batched, set-based sweeps that any number of workers may run at once.

A sweep of one :class:`~.targets.Target` repeats one statement (:mod:`._sql`)
until a batch comes back short, each batch in its own transaction together with
its audit event (``retention.swept``: rule, table, action, row count, run id,
cutoff; never a value).  So:

* **idempotent** — what is done no longer matches "still to do"; a second run
  at the same instant finds nothing;
* **resumable** — an interrupted run (Ctrl-C, a killed worker) loses at most
  the batch in flight, which rolls back; the next run carries on from there
  and ends in the same state an uninterrupted run would have;
* **safe with several workers** — batches lock their rows ``FOR UPDATE SKIP
  LOCKED``; a row is handled by exactly one worker, and the audit totals add
  up to the rows handled;
* **one cutoff per run** — ``now`` is read once, so a long run does not chase
  rows that expire while it works (the next run takes them).

A row locked by the application (a device row being updated) is skipped by
that batch and taken by the next run; we accept that because waiting on
application locks would stall the sweep.  After each target, one
``retention.sweep_finished`` event records the run's total for it, also when
it is zero: the report's "last sweep".

Rows a legal hold keeps (:mod:`doorstep.privacy.holds`) are never in a batch:
each run counts the due rows it spared and, when there are any, records
``retention.held`` (rule, table, rows, and the legal bases of the holds that
kept them).  Once the hold is released, the next run takes them.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from doorstep.audit.exceptions import AuditChainBrokenError
from doorstep.audit.services import prune, record
from doorstep.core.metrics import RETENTION_SWEPT
from doorstep.core.runtime import Runtime
from doorstep.privacy.retention import _sql
from doorstep.privacy.retention.binding import PruneAuditTrail
from doorstep.privacy.retention.targets import Target

log = logging.getLogger("doorstep.retention")

#: Audit actions a sweep records.
SWEPT = "retention.swept"
FINISHED = "retention.sweep_finished"
FAILED = "retention.sweep_failed"
#: Due rows a legal hold kept: rule, table, rows, and the holds' legal bases.
HELD = "retention.held"

#: Called after each committed batch with the target and the rows it handled.
BatchHook = Callable[[Target, int], None]


#: Asked before each batch; True stops the run there (Ctrl-C in ``doorstep retention run``).
StopCheck = Callable[[], bool]


@dataclass(frozen=True)
class SweepResult:
    """What one run did for one target.

    ``error`` names why it stopped early (a broken audit chain); ``stopped`` says
    it was asked to stop before it was done (run again to finish); ``held`` counts
    the due rows a legal hold kept (the next run after its release takes them).
    """

    target: str
    rows: int
    batches: int
    error: str = ""
    stopped: bool = False
    held: int = 0


Details = dict[str, str | int | bool | None]


def _details(target: Target, run: uuid.UUID, cutoff: datetime, rows: int) -> Details:
    return {
        "rule": target.rule.key,
        "table": str(target.table.name),
        "action": target.action_name,
        "rows": rows,
        "run": str(run),
        "cutoff": int(cutoff.timestamp()),
    }


def _batch(
    session: Session, target: Target, cutoff: datetime, now: datetime, size: int
) -> tuple[int, bool]:
    """Handle one batch in ``session``'s transaction: (rows handled, whether more may be due)."""
    if isinstance(target.binding.action, PruneAuditTrail):
        done = prune(session, cutoff=cutoff, batch_size=size, at=now)
        return (0, False) if done is None else (done.events, not done.done)
    statement = _sql.batch_statement(
        target.table, target.binding, cutoff, now, size, held=target.held
    )
    rows = int(getattr(session.execute(statement), "rowcount", 0))
    return rows, rows >= size


def sweep(
    runtime: Runtime,
    target: Target,
    *,
    now: datetime,
    batch_size: int,
    run: uuid.UUID,
    actor: str,
    on_batch: BatchHook | None = None,
    stop: StopCheck | None = None,
) -> SweepResult:
    """Run ``target`` to completion at ``now``; return the rows handled and batches committed.

    A prune of a broken audit chain stops with ``error`` set (and an audit event
    ``retention.sweep_failed``): the broken part stays as evidence.  ``stop`` is
    asked before each batch; when it says so the sweep ends there, unfinished.
    """
    cutoff = target.cutoff(now)
    if cutoff is None or not target.sweeps:
        return SweepResult(target.name, 0, 0)
    total = batches = 0
    more = True
    error = ""
    while more:
        if stop is not None and stop():
            return SweepResult(target.name, total, batches, stopped=True)
        try:
            with runtime.sessions.begin() as session:
                rows, more = _batch(session, target, cutoff, now, batch_size)
                if rows:
                    details: Details = {
                        **_details(target, run, cutoff, rows),
                        "batch": batches + 1,
                    }
                    record(session, action=SWEPT, actor=actor, details=details)
        except AuditChainBrokenError as exc:
            error = str(exc.fields.get("reason", exc.detail))
            with runtime.sessions.begin() as session:
                seq = exc.fields.get("seq")
                details = {**_details(target, run, cutoff, total), "seq": int(seq) if seq else None}
                record(session, action=FAILED, actor=actor, outcome="failed", details=details)
            log.error("retention sweep stopped", extra={"target": target.name, "reason": error})
            break
        if rows:
            RETENTION_SWEPT.labels(target.rule.key, target.action_name).inc(rows)
            total += rows
            batches += 1
            if on_batch is not None:
                on_batch(target, rows)
    held = 0
    if not error:
        with runtime.sessions.begin() as session:
            held = _report_held(session, target, now, run=run, cutoff=cutoff, actor=actor)
            details = {**_details(target, run, cutoff, total), "batches": batches, "held": held}
            record(session, action=FINISHED, actor=actor, details=details)
    log.info(
        "retention sweep done",
        extra={"target": target.name, "rows": total, "batches": batches, "held": held},
    )
    return SweepResult(target.name, total, batches, error, held=held)


def _report_held(
    session: Session, target: Target, now: datetime, *, run: uuid.UUID, cutoff: datetime, actor: str
) -> int:
    """Count the due rows legal holds kept and record why (``retention.held``); return the count.

    The event names the rule, the table, the rows and, per legal basis, how many
    holds kept them: ids and codes, never a value (CPE-IV.1.b, CPE-IV.3.b).
    """
    held = target.count_held(session, now)
    if held:
        bases = target.holding(session, now)
        details: Details = {
            **_details(target, run, cutoff, held),
            "holds": sum(bases.values()),
            "bases": ",".join(sorted(bases)) or None,
        }
        record(session, action=HELD, actor=actor, details=details)
    return held


def run_sweeps(
    runtime: Runtime,
    targets: Iterable[Target],
    *,
    batch_size: int | None = None,
    actor: str = "system:doorstep.retention.sweep",
    on_batch: BatchHook | None = None,
    stop: StopCheck | None = None,
) -> list[SweepResult]:
    """Sweep every target that sweeps, in order, at one instant read from the runtime's clock.

    With ``stop``, the run ends before the first batch it is asked to stop at.
    """
    now = runtime.clock.now()
    size = batch_size or runtime.settings.retention_batch_size
    run = uuid.uuid4()
    results = []
    for target in targets:
        if not target.sweeps:
            continue
        result = sweep(
            runtime,
            target,
            now=now,
            batch_size=size,
            run=run,
            actor=actor,
            on_batch=on_batch,
            stop=stop,
        )
        results.append(result)
        if result.stopped:
            break
    return results
