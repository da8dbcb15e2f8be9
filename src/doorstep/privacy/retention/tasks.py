"""The periodic retention sweep: every rule, every hour, by whichever worker takes it.

Procrastinate records each scheduled run, so with several workers a run happens
once; a manual ``doorstep retention run`` beside it is safe too (the batches of
the two skip each other's rows).
"""

from __future__ import annotations

from doorstep.core.runtime import Runtime
from doorstep.jobs.registry import JobContext, periodic
from doorstep.privacy.retention.sweep import BatchHook, SweepResult, run_sweeps
from doorstep.privacy.retention.targets import targets

#: The name of the periodic job (and the actor of its audit events, ``system:<name>``).
SWEEP_TASK = "doorstep.retention.sweep"


def sweep_all(
    runtime: Runtime,
    *,
    rule: str | None = None,
    batch_size: int | None = None,
    actor: str = f"system:{SWEEP_TASK}",
    on_batch: BatchHook | None = None,
) -> list[SweepResult]:
    """Sweep every binding of the schema (only ``rule``'s, when given) with the pack in force."""
    from doorstep.core.models import schema_metadata
    from doorstep.privacy.datamap.chosen import chosen_pack

    metadata = schema_metadata()

    chosen = targets(metadata, chosen_pack(runtime.settings), runtime.settings, rule=rule)
    return run_sweeps(runtime, chosen, batch_size=batch_size, actor=actor, on_batch=on_batch)


@periodic(SWEEP_TASK, cron="41 * * * *")
def _sweep_hourly(ctx: JobContext, timestamp: int) -> int:
    return sum(result.rows for result in sweep_all(ctx.runtime))
