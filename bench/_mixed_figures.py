"""The mixed-load bench's figures: latency and errors per operation, rate, CPU per process.

Per rate (:func:`run_figures`): for each operation of the mix and for all
together, the p50 with the one-at-a-time p50 of the same run as its baseline, the
p99 and the errors; then the requests answered as expected per second, the
driver's own lag behind its schedule, the seconds until both serves answered
promptly again after the run, how many of the serves' database connections were
idle in a transaction for over 5 s when the run ended (requests stuck in a serve
with their connection), and the cores each kind of process kept busy (of the
machine's two).
:func:`statuses` sums up the errors by status for the bench's log (the table has
numbers only).
"""

from __future__ import annotations

from collections import Counter

from bench._mixed_cpu import MACHINE
from bench._mixed_load import MIX, Sample
from bench.harness import Figure, percentile

#: The rate the target is set at, and the target.
TARGET_RATE = 200
P99_TARGET = "< 100 ms"


def baseline_of(samples: list[Sample]) -> dict[str, list[float]]:
    """Milliseconds per operation (and ``all``) of the one-at-a-time samples."""
    found: dict[str, list[float]] = {op: [] for op in [*MIX, "all"]}
    for sample in samples:
        found[sample.operation].append(sample.seconds * 1000)
        found["all"].append(sample.seconds * 1000)
    return found


def baseline_figures(samples: list[Sample]) -> list[Figure]:
    """How many one-at-a-time requests there were, and the errors among them."""
    errors = sum(not s.ok for s in samples)
    return [Figure("one at a time (baseline): errors", errors, f"of {len(samples)}")]


def _latency(
    label: str, samples: list[Sample], baseline: dict[str, list[float]], at_target: bool
) -> list[Figure]:
    figures = []
    for operation in [*MIX, "all"]:
        mine = [s for s in samples if operation in (s.operation, "all")]
        ms = [s.seconds * 1000 for s in mine]
        figures += [
            Figure(
                f"{label}, {operation}: p50",
                percentile(ms, 50),
                "ms",
                baseline=percentile(baseline[operation], 50),
                baseline_name="one at a time, p50",
            ),
            Figure(
                f"{label}, {operation}: p99",
                percentile(ms, 99),
                "ms",
                target=P99_TARGET if at_target else "",
            ),
            Figure(
                f"{label}, {operation}: errors",
                sum(not s.ok for s in mine),
                f"of {len(mine)}",
                target="0" if at_target else "",
            ),
        ]
    return figures


def run_figures(
    label: str,
    rate: int,
    samples: list[Sample],
    took: float,
    baseline: dict[str, list[float]],
    cores: dict[str, float],
    after: tuple[float, int],
) -> list[Figure]:
    """The figures of one run at ``rate`` per second (see the module docstring).

    ``after``: the seconds until both serves answered promptly again, and the serves'
    connections idle in a transaction for over 5 s when the run ended.
    """
    at_target = rate == TARGET_RATE
    figures = _latency(label, samples, baseline, at_target)
    sent = [s.lag * 1000 for s in samples if s.status != -1]
    figures += [
        Figure(
            f"{label}: answered as expected per second",
            sum(s.ok for s in samples) / took,
            "requests/s",
            target=f"{TARGET_RATE}/s" if at_target else "",
        ),
        Figure(f"{label}: sent after their due instant, p99", percentile(sent, 99), "ms"),
        Figure(f"{label}: until both serves answered within 1 s again", after[0], "s"),
        Figure(f"{label}: serve connections idle in a transaction > 5 s at the end", after[1], ""),
    ]
    for kind, value in cores.items():
        name = "whole machine busy" if kind == MACHINE else f"CPU of {kind}"
        figures.append(Figure(f"{label}: {name}", value, "cores"))
    return figures


def statuses(samples: list[Sample]) -> str:
    """``operation: {status: count}`` of the errors (0: transport error, -1: abandoned)."""
    found: dict[str, Counter[int]] = {}
    for sample in samples:
        if not sample.ok:
            found.setdefault(sample.operation, Counter())[sample.status] += 1
    return "; ".join(f"{op}: {dict(counts)}" for op, counts in found.items()) or "none"
