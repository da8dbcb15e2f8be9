"""Run the benchmarks and print one table of figures.

    .venv/bin/python -m bench.run              # every bench/bench_*.py
    .venv/bin/python -m bench.run audit keys   # only these modules
    .venv/bin/python -m bench.run --quick      # smaller counts, for a smoke run

Each module gets a fresh migrated database (``bench.harness.bench_context``); a
module with ``FLEET = True`` gets a clone of the benchmark fleet instead
(``bench.fleet.fleet_context``, built once per schema).
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

from bench.fleet import fleet_context
from bench.harness import ROOT, Figure, bench_context, table


def _modules(names: list[str]) -> list[str]:
    found = sorted(path.stem.removeprefix("bench_") for path in (ROOT / "bench").glob("bench_*.py"))
    if not names:
        return found
    unknown = sorted(set(names) - set(found))
    if unknown:
        sys.exit(f"bench: no module bench_{unknown[0]}.py (have: {', '.join(found)})")
    return names


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
            context = fleet_context if getattr(module, "FLEET", False) else bench_context
            with context(name, quick=args.quick) as ctx:
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
