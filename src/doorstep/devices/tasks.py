"""Periodic job of the devices area: presence, every minute, by whichever worker takes it.

:func:`presence_sweep` marks offline the devices silent for
``device_silence_timeout_seconds`` (their last contact starts the two years of
CPE-I.ii.1.c) and ends the bindings of devices whose registration the retention
sweep anonymised (the link to the account is part of the record).  Both steps are
set-based and idempotent; the job carries no arguments, so no device data ever
reaches a job payload.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta

from doorstep.core.runtime import Runtime
from doorstep.devices.binding import end_anonymised_bindings
from doorstep.devices.presence import mark_silent
from doorstep.jobs.registry import JobContext, periodic

log = logging.getLogger("doorstep.devices")

PRESENCE_TASK = "doorstep.devices.presence"


@dataclass(frozen=True, slots=True)
class PresenceResult:
    """What one run did."""

    went_offline: int
    bindings_ended: int


def presence_sweep(runtime: Runtime) -> PresenceResult:
    """Mark silent devices offline, end the bindings of anonymised ones (one transaction each)."""
    now = runtime.clock.now()
    timeout = timedelta(seconds=runtime.settings.device_silence_timeout_seconds)
    with runtime.sessions.begin() as session:
        offline = mark_silent(session, now=now, timeout=timeout)
    ended = 0
    while True:
        with runtime.sessions.begin() as session:
            batch = end_anonymised_bindings(session, now=now)
        ended += batch
        if batch < 1000:
            break
    if offline or ended:
        log.info("device presence swept", extra={"offline": offline, "bindings_ended": ended})
    return PresenceResult(offline, ended)


@periodic(PRESENCE_TASK, cron="* * * * *")
def _presence_every_minute(ctx: JobContext, timestamp: int) -> int:
    result = presence_sweep(ctx.runtime)
    return result.went_offline + result.bindings_ended
