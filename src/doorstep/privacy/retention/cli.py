"""``doorstep retention …``: plan, run and report the retention rules.

* ``plan`` — what a sweep now would do, per rule and table, with counts (read-only);
* ``run [--rule R] [--batch-size N]`` — sweep now, with a progress bar; Ctrl-C
  stops once the batch in flight has committed (a second Ctrl-C at once, the
  batch rolling back), and running again finishes;
* ``report [--output FILE]`` — the auditor's Markdown report.

Exit codes: 0 done; 1 a sweep stopped (a broken audit chain) or was
interrupted (130); 2 bad usage or invalid retention configuration.  The shared
helpers come from :mod:`doorstep.core.commands`.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from doorstep.core.commands import cli_runtime, fail, load_cli_settings

if TYPE_CHECKING:
    from doorstep.core.settings import Settings
    from doorstep.privacy.retention.targets import Target

app = typer.Typer(
    help="Retention: plan, run and report the storage periods of the policy pack.",
    no_args_is_help=True,
)

#: Actor of the audit events a manual run records.
CLI_ACTOR = "system:doorstep.retention.cli"

RuleOption = Annotated[
    str | None, typer.Option("--rule", help="Only this retention rule (a key of the pack).")
]


def _targets(settings: Settings, rule: str | None) -> list[Target]:
    """The schema's targets (only ``rule``'s); exit 2 naming the problem if invalid."""
    from doorstep.core.errors import ConfigurationError, InvalidInputError
    from doorstep.core.models import schema_metadata
    from doorstep.privacy.datamap.chosen import chosen_pack
    from doorstep.privacy.retention.targets import targets

    metadata = schema_metadata()

    try:
        return targets(metadata, chosen_pack(settings), settings, rule=rule)
    except (ConfigurationError, InvalidInputError) as exc:
        fail(exc.detail, 2)


@app.command()
def plan(rule: RuleOption = None) -> None:
    """Show what a sweep now would do: per rule and table, the cutoff and the rows due."""
    from doorstep.privacy.datamap.wording import iso_period
    from doorstep.privacy.retention.report import plan as make_plan

    settings = load_cli_settings()
    chosen = _targets(settings, rule)
    with cli_runtime(settings, "doorstep-retention") as runtime, runtime.sessions() as session:
        lines = make_plan(session, chosen, runtime.clock.now())
        session.rollback()
    rows = [("rule@table", "action", "period", "cutoff (UTC)", "due")]
    for line in lines:
        target = line.target
        if not target.sweeps:
            kept = "kept" if target.period is None else "by erasure"
            rows.append((target.name, kept, "-", "-", "-"))
            continue
        period = iso_period(target.period) if target.period is not None else "kept"
        cutoff = line.cutoff.strftime("%Y-%m-%d %H:%M:%S") if line.cutoff else "-"
        rows.append((target.name, target.action_name, period, cutoff, str(line.due or 0)))
    widths = [max(len(row[column]) for row in rows) for column in range(4)]
    for row in rows:
        typer.echo(
            "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=False))
            + "  "
            + row[4]
        )
    total = sum(line.due or 0 for line in lines)
    swept = sum(1 for line in lines if line.target.sweeps)
    typer.echo(f"{total} rows due now in {swept} swept bindings ({len(lines)} bindings in all)")


@app.command()
def run(
    rule: RuleOption = None,
    batch_size: Annotated[
        int | None,
        typer.Option("--batch-size", min=1, help="Rows per transaction (retention_batch_size)."),
    ] = None,
) -> None:
    """Sweep now: delete or anonymise what is due, in batches, with a progress bar."""
    from doorstep.privacy.retention._interrupt import stop_on_interrupt
    from doorstep.privacy.retention.report import plan as make_plan
    from doorstep.privacy.retention.sweep import run_sweeps

    settings = load_cli_settings()
    chosen = _targets(settings, rule)
    done = 0
    with cli_runtime(settings, "doorstep-retention") as runtime:
        with runtime.sessions() as session:
            due = sum(line.due or 0 for line in make_plan(session, chosen, runtime.clock.now()))
            session.rollback()
        with (
            stop_on_interrupt() as stop,
            typer.progressbar(length=max(due, 1), label="retention") as bar,
        ):

            def advance(target: Target, rows: int) -> None:
                nonlocal done
                done += rows
                bar.update(rows)

            results = run_sweeps(
                runtime, chosen, batch_size=batch_size, actor=CLI_ACTOR, on_batch=advance, stop=stop
            )
    if any(result.stopped for result in results):
        typer.echo(
            f"\ninterrupted: {done} rows done in committed batches. Run again to finish.",
            err=True,
        )
        raise typer.Exit(130)
    failed = [result for result in results if result.error]
    for result in results:
        if result.rows or result.error:
            note = f" STOPPED: {result.error}" if result.error else ""
            typer.echo(f"{result.target}: {result.rows} rows in {result.batches} batches{note}")
    typer.echo(f"retention run done: {sum(r.rows for r in results)} rows")
    raise typer.Exit(1 if failed else 0)


@app.command()
def report(
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Write to FILE instead of stdout.")
    ] = None,
) -> None:
    """Write the auditor's Markdown report: every rule, its clauses, bindings and last sweep."""
    from doorstep.privacy.datamap.chosen import chosen_pack
    from doorstep.privacy.retention.report import report as make_report

    settings = load_cli_settings()
    chosen = _targets(settings, None)
    with cli_runtime(settings, "doorstep-retention") as runtime, runtime.sessions() as session:
        text = make_report(session, chosen_pack(settings), chosen, settings, runtime.clock.now())
        session.rollback()
    if output is None:
        typer.echo(text, nl=False)
        return
    try:
        output.write_text(text, encoding="utf-8")
    except OSError as exc:
        fail(f"cannot write {output}: {exc.strerror}", 1)
    typer.echo(f"retention report written to {output}")
