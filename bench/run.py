"""Run the benchmarks and print one table of figures.

    .venv/bin/python -m bench.run              # every bench/bench_*.py
    .venv/bin/python -m bench.run audit keys   # only these modules
    .venv/bin/python -m bench.run --quick      # smaller counts, for a smoke run

Each module gets a fresh migrated database; a module with ``FLEET = True`` gets a
clone of the benchmark fleet instead (bench/fleet.py, built once per schema).
Targets are printed beside the figures and never asserted.  Copy the table into
docs/benchmarks.md with the command that produced it.
"""

from __future__ import annotations

import argparse
import importlib
import platform
import sys
import traceback
from datetime import UTC, datetime

from bench.harness import ROOT, Figure, bench_context


def _modules(names: list[str]) -> list[str]:
    found = sorted(path.stem.removeprefix("bench_") for path in (ROOT / "bench").glob("bench_*.py"))
    if not names:
        return found
    unknown = sorted(set(names) - set(found))
    if unknown:
        sys.exit(f"bench: no module bench_{unknown[0]}.py (have: {', '.join(found)})")
    return names


def _fmt(value: float) -> str:
    if value >= 100:
        return f"{value:,.0f}"
    if value >= 1:
        return f"{value:,.2f}"
    return f"{value:.4f}"


def table(figures: list[tuple[str, Figure]]) -> str:
    """A Markdown table of the figures."""
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
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("modules", nargs="*", help="module names (bench_<name>.py)")
    parser.add_argument("--quick", action="store_true", help="smaller counts")
    args = parser.parse_args(argv)
    results: list[tuple[str, Figure]] = []
    failed = []
    for name in _modules(args.modules):
        module = importlib.import_module(f"bench.bench_{name}")
        print(f"bench: {name} …", file=sys.stderr, flush=True)
        try:
            fleet = bool(getattr(module, "FLEET", False))
            with bench_context(name, quick=args.quick, fleet=fleet) as ctx:
                results.extend((name, figure) for figure in module.run(ctx))
        except Exception:
            traceback.print_exc()
            failed.append(name)
    print(
        f"\nDoorstep benchmarks, {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, "
        f"Python {platform.python_version()}, {platform.machine()}, "
        f"{'quick' if args.quick else 'full'} run\n"
    )
    print(table(results))
    if failed:
        print(f"\nbench: failed: {', '.join(failed)}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
