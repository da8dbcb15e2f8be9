"""Periodic jobs of the audit trail: seal every minute, checkpoint every hour.

Sealing runs in transactions of at most :data:`SEAL_PER_TRANSACTION` events so a
backlog (a worker that was down) is caught up in bounded steps, each committed.
A sealer that finds the lock taken returns at once: another one is at work.
"""

from __future__ import annotations

import logging

from doorstep.audit.services import checkpoint, seal
from doorstep.core.runtime import Runtime
from doorstep.jobs.registry import JobContext, periodic

log = logging.getLogger("doorstep.audit")

SEAL_PER_TRANSACTION = 50_000


def seal_all(runtime: Runtime, *, wait: bool = False) -> int:
    """Seal every committed event, one bounded transaction at a time; return the count."""
    total = 0
    while True:
        with runtime.sessions.begin() as session:
            sealed = seal(session, wait=wait, limit=SEAL_PER_TRANSACTION)
        total += sealed
        if sealed < SEAL_PER_TRANSACTION:
            break
    if total:
        log.info("sealed audit events", extra={"count": total})
    return total


def take_checkpoint(runtime: Runtime) -> int | None:
    """Seal, verify the links since the last checkpoint, and checkpoint the head."""
    seal_all(runtime, wait=True)
    with runtime.sessions.begin() as session:
        seq = checkpoint(session, at=runtime.clock.now())
    if seq is not None:
        log.info("audit checkpoint taken", extra={"seq": seq})
    return seq


@periodic("doorstep.audit.seal", cron="* * * * *")
def _seal_every_minute(ctx: JobContext, timestamp: int) -> int:
    return seal_all(ctx.runtime)


@periodic("doorstep.audit.checkpoint", cron="23 * * * *")
def _checkpoint_hourly(ctx: JobContext, timestamp: int) -> int:
    return take_checkpoint(ctx.runtime) or 0
