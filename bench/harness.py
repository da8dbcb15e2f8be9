"""What every benchmark shares: figures, a fresh migrated database, timers and the table.

A benchmark module is ``bench/bench_<area>.py`` with ``run(ctx) -> list[Figure]``.
Figures that an issue compares with a baseline carry it (measured in the same
run, on the same machine); targets are printed beside the figure, never asserted.
"""

from __future__ import annotations

import math
import os
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy.engine import Engine

from doorstep.core import migrations
from doorstep.core.clock import SystemClock
from doorstep.core.database import (
    create_db_engine,
    drop_databases,
    libpq_url,
    make_session_factory,
    recreate_database,
)
from doorstep.core.runtime import Runtime
from doorstep.core.settings import load_settings

if TYPE_CHECKING:
    from bench._fleet_build import Fleet

ROOT = Path(__file__).resolve().parents[1]


@dataclass(frozen=True)
class Figure:
    """One measured number."""

    name: str
    value: float
    unit: str
    target: str = ""
    baseline: float | None = None
    baseline_name: str = ""
    note: str = ""

    @property
    def ratio(self) -> float | None:
        """value / baseline, when a baseline was measured."""
        if not self.baseline:  # None, or 0
            return None
        return self.value / self.baseline


@dataclass
class BenchContext:
    """A fresh, migrated database for one benchmark module (a clone of the fleet: ``fleet``)."""

    database_url: str
    engine: Engine
    runtime: Runtime
    quick: bool = False
    scratch: list[str] = field(default_factory=list)
    fleet: Fleet | None = None


def server_url() -> str:
    """The PostgreSQL server benchmarks use: env, else the embedded one in .bench-pg."""
    url = os.environ.get("DOORSTEP_BENCH_DATABASE_URL") or os.environ.get(
        "DOORSTEP_TEST_DATABASE_URL"
    )
    if url:
        return libpq_url(url)
    from doorstep.core.embedded import start_embedded

    return libpq_url(start_embedded(ROOT / ".bench-pg", database="doorstep_bench_admin"))


@contextmanager
def bench_context(module: str, *, quick: bool) -> Iterator[BenchContext]:
    """A migrated database ``doorstep_bench_<module>`` and a runtime on it; dropped after.

    A module that runs on a clone of the benchmark fleet instead gets
    :func:`bench.fleet.fleet_context` (``bench.run`` chooses, by the module's ``FLEET``).
    """
    admin = server_url()
    name = f"doorstep_bench_{module}"
    url = recreate_database(admin, name)
    engine = create_db_engine(url, pool_size=8, application_name="doorstep-bench")
    migrations.upgrade(engine)
    settings = load_settings(env="test", database_url=url, data_dir=ROOT / ".bench-data")
    runtime = Runtime(settings, url, engine, make_session_factory(engine), SystemClock())
    try:
        yield BenchContext(url, engine, runtime, quick=quick)
    finally:
        engine.dispose()
        drop_databases(admin, [name])


def per_second(fn: Callable[[], object], count: int, *, repeat: int = 3) -> float:
    """Best of ``repeat`` runs of ``count`` calls of ``fn``, as calls per second."""
    best = float("inf")
    for _ in range(repeat):
        started = time.perf_counter()
        for _ in range(count):
            fn()
        best = min(best, time.perf_counter() - started)
    return count / best


def timed(fn: Callable[[], object]) -> float:
    """Seconds one call of ``fn`` takes."""
    started = time.perf_counter()
    fn()
    return time.perf_counter() - started


def percentile(samples: list[float], pct: float) -> float:
    """The ``pct`` percentile (0 to 100) of ``samples`` by nearest rank."""
    ordered = sorted(samples)
    index = max(0, min(len(ordered) - 1, math.ceil(pct / 100 * len(ordered)) - 1))
    return ordered[index]


def _fmt(value: float) -> str:
    if value >= 100:
        return f"{value:,.0f}"
    if value >= 1:
        return f"{value:,.2f}"
    return f"{value:.4f}"


def table(figures: list[tuple[str, Figure]]) -> str:
    """A Markdown table of the figures, then each figure's note (what it covered, checks)."""
    lines = [
        "| area | figure | value | unit | target | baseline (same run) | ratio |",
        "|---|---|---:|---|---|---|---:|",
    ]
    for area, figure in figures:
        baseline = (
            f"{figure.baseline_name}: {_fmt(figure.baseline)}"
            if figure.baseline is not None
            else ""
        )
        ratio = f"{figure.ratio:.2f}" if figure.ratio is not None else ""
        lines.append(
            f"| {area} | {figure.name} | {_fmt(figure.value)} | {figure.unit} | {figure.target} "
            f"| {baseline} | {ratio} |"
        )
    notes = [f"- {area}, {figure.name}: {figure.note}" for area, figure in figures if figure.note]
    if notes:
        lines += ["", "Notes:", *notes]
    return "\n".join(lines)
