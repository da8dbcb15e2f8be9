"""The jobs of the changes area: the notice runs of a major version and of a change of
controller (ids only)."""

from __future__ import annotations

from doorstep.jobs.registry import JobContext, job
from doorstep.privacy.changes.controller import NOTIFY_TASK as CONTROLLER_NOTIFY_TASK
from doorstep.privacy.changes.publish import NOTIFY_TASK


@job(NOTIFY_TASK, max_attempts=10)
def notify(ctx: JobContext, version_id: str) -> int:
    """Tell every affected subscriber of major version ``version_id``; resumable, never twice."""
    from doorstep.privacy.changes.fanout import notify_all
    from doorstep.services import services_for

    return notify_all(services_for(ctx.runtime), version_id)


@job(CONTROLLER_NOTIFY_TASK, max_attempts=10)
def notify_controller_change(ctx: JobContext, change_id: str) -> int:
    """Tell every subscriber of change of controller ``change_id``; resumable, never twice."""
    import uuid

    from doorstep.privacy.changes.controller import notify_all
    from doorstep.services import services_for

    return notify_all(services_for(ctx.runtime), uuid.UUID(change_id))
