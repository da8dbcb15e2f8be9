"""What the engine would do now (:func:`plan`) and what it has done (:func:`report`).

The report is for an auditor: every rule of the pack with its clauses, trigger
and period (the pack's and the one in force), the tables and elements bound to
it and what happens to them, and the last sweep with its counts, read back from
the audit trail (``retention.sweep_finished`` and ``retention.swept`` events).
It names tables, columns and counts, never a value.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session

from doorstep.core.settings import Settings
from doorstep.privacy.datamap.pack import PolicyPack, RetentionRule, Trigger
from doorstep.privacy.datamap.wording import iso_period, md_table, time_limit
from doorstep.privacy.retention.bindings import EXTERNAL
from doorstep.privacy.retention.periods import AUDIT_RULE
from doorstep.privacy.retention.sweep import FAILED, FINISHED, SWEPT
from doorstep.privacy.retention.targets import Target
from doorstep.vocabulary.declarations import INFO_KEY, PersonalData


@dataclass(frozen=True)
class PlanLine:
    """One target and how many rows a sweep now would handle (None: not swept here)."""

    target: Target
    cutoff: datetime | None
    due: int | None


def plan(session: Session, targets: list[Target], now: datetime) -> list[PlanLine]:
    """Count what a sweep at ``now`` would do, per target (read-only)."""
    return [
        PlanLine(target, target.cutoff(now), target.count_due(session, now)) for target in targets
    ]


@dataclass(frozen=True)
class LastSweep:
    """The newest finished sweep of one target, and what the trail holds of all its batches."""

    at: datetime | None = None
    rows: int = 0
    total_rows: int = 0
    batches: int = 0
    failed_at: datetime | None = None


_LAST = sa.text(
    "SELECT DISTINCT ON (details->>'rule', details->>'table') details->>'rule', "
    "details->>'table', at, (details->>'rows')::bigint FROM audit_events WHERE action = :action "
    "ORDER BY details->>'rule', details->>'table', at DESC, id DESC"
)
_TOTALS = sa.text(
    "SELECT details->>'rule', details->>'table', sum((details->>'rows')::bigint), count(*) "
    "FROM audit_events WHERE action = :action GROUP BY 1, 2"
)


def last_sweeps(session: Session) -> dict[tuple[str, str], LastSweep]:
    """(rule, table) -> :class:`LastSweep`, from the audit trail (what is left of it)."""
    found: dict[tuple[str, str], dict[str, object]] = {}
    for rule, table, at, rows in session.execute(_LAST, {"action": FINISHED}):
        found.setdefault((rule, table), {}).update(at=at, rows=int(rows or 0))
    for rule, table, at, _ in session.execute(_LAST, {"action": FAILED}):
        found.setdefault((rule, table), {})["failed_at"] = at
    for rule, table, total, batches in session.execute(_TOTALS, {"action": SWEPT}):
        found.setdefault((rule, table), {}).update(total_rows=int(total), batches=int(batches))
    return {key: LastSweep(**values) for key, values in found.items()}  # type: ignore[arg-type]


def _when(instant: datetime | None) -> str:
    return instant.strftime("%Y-%m-%d %H:%M:%S") if instant else "never"


def _elements(target: Target) -> list[str]:
    return [
        f"`{target.table.name}.{column.name}`"
        for column in target.table.columns
        if isinstance(declaration := column.info.get(INFO_KEY), PersonalData)
        and declaration.retention == target.rule.key
    ]


def _in_force(rule: RetentionRule, bound: list[Target], settings: Settings) -> str:
    if rule.key in EXTERNAL and rule.key == "job_history":
        days = settings.job_retention_days
        return "kept (job_retention_days 0)" if days == 0 else f"P{days}D (job_retention_days)"
    periods = {target.period for target in bound}
    if not periods:
        return "-" if rule.trigger is Trigger.NOT_STORED else iso_period(rule.period)
    period = next(iter(periods))
    if period is None:
        return "kept for good (audit_retention_days 0)"
    return iso_period(period)


def _executed_by(rule: RetentionRule, bound: list[Target]) -> str:
    if rule.trigger is Trigger.NOT_STORED:
        return "never stored"
    if rule.key in EXTERNAL:
        return EXTERNAL[rule.key]
    if not bound:
        return "no table binds it yet"
    if all(not target.binding.sweeps for target in bound):
        return "erasure of the subject"
    return "retention sweep (doorstep.retention.sweep, hourly)"


def _rule_section(
    rule: RetentionRule,
    bound: list[Target],
    settings: Settings,
    sweeps: dict[tuple[str, str], LastSweep],
) -> list[str]:
    lines = [f"### `{rule.key}`", "", rule.description or "(no description)", ""]
    lines.append(f"- **Clauses:** {', '.join(rule.clauses) or 'none listed'}")
    lines.append(f"- **Trigger:** `{rule.trigger.value}` ({time_limit(rule)})")
    lines.append(
        f"- **Period:** {iso_period(rule.period)} in the pack; "
        f"{_in_force(rule, bound, settings)} in force"
    )
    lines.append(f"- **Executed by:** {_executed_by(rule, bound)}")
    if rule.trigger is Trigger.NOT_STORED:
        lines.append(
            "- **Proof:** start-up refuses a table that binds it or a column that declares "
            "it; the canary tests plant a marker and find it in no table, log or job."
        )
    if bound:
        rows = []
        for target in bound:
            last = sweeps.get((rule.key, str(target.table.name)), LastSweep())
            failed = f" (failed {_when(last.failed_at)})" if last.failed_at else ""
            swept = target.binding.sweeps
            rows.append(
                [
                    f"`{target.table.name}`",
                    target.binding.describe_trigger(str(target.table.name)),
                    target.binding.describe_action(),
                    ", ".join(_elements(target)),
                    _when(last.at) + failed if swept else "-",
                    str(last.rows) if last.at else "-",
                    (f"{last.total_rows} in {last.batches} batches" if last.batches else "0")
                    if swept
                    else "-",
                ]
            )
        header = (
            "table",
            "trigger instant",
            "at expiry",
            "elements",
            "last sweep (UTC)",
            "rows then",
            "rows in the trail",
        )
        lines += ["", *md_table(header, rows)]
    return [*lines, ""]


def report(
    session: Session,
    pack: PolicyPack,
    targets: list[Target],
    settings: Settings,
    now: datetime,
) -> str:
    """The Markdown retention report (see the module docstring)."""
    sweeps = last_sweeps(session)
    by_rule: dict[str, list[Target]] = {}
    for target in targets:
        by_rule.setdefault(target.rule.key, []).append(target)
    summary = []
    for key in sorted(pack.retention):
        rule, bound = pack.retention[key], by_rule.get(key, [])
        finished = [sweeps.get((key, str(target.table.name))) for target in bound]
        done = [last.at for last in finished if last is not None and last.at is not None]
        summary.append(
            [
                f"`{key}`",
                ", ".join(rule.clauses),
                rule.trigger.value,
                iso_period(rule.period),
                _in_force(rule, bound, settings),
                ", ".join(f"`{t.table.name}`" for t in bound) or "-",
                _when(max(done)) if done else "-",
            ]
        )
    audit = pack.retention.get(AUDIT_RULE)
    kept = _in_force(audit, by_rule.get(AUDIT_RULE, []), settings) if audit else "not set"
    lines = [
        "# Retention report",
        "",
        f"Generated {_when(now)} UTC from the policy pack `{pack.path.name}`, the data map, "
        "the settings in force and the audit trail. Counts come from the trail's "
        f"`{SWEPT}` events, so they cover what the trail still holds (its period: {kept}).",
        "",
        "## Summary",
        "",
        *md_table(
            ("rule", "clauses", "trigger", "pack", "in force", "tables", "last sweep (UTC)"),
            summary,
        ),
        "",
        "## Rules",
        "",
    ]
    for key in sorted(pack.retention):
        lines += _rule_section(pack.retention[key], by_rule.get(key, []), settings, sweeps)
    return "\n".join(lines).rstrip("\n") + "\n"
