"""Start-up figures: the demo's cold start (fresh and warm) and the command's own start.

The demo is started as a real subprocess on the embedded PostgreSQL with its own
data directory; the clock runs from process start to the first 200 of /readyz.
"fresh" includes initdb and every migration; "warm" reuses the data directory.

The command (issue 13.4): ``doorstep --version`` and ``doorstep --help`` run as
fresh processes (``python -m doorstep …``, this interpreter), each ``runs`` times
beside ``python -c pass`` measured in the same run as the baseline, interleaved so
that the machine's load falls on the three alike; the figures are the median and
the 90th percentile of the wall time from spawn to exit, and the median CPU time
(user + system; less sensitive to the machine's other work), one warm-up run each
not counted.  Target: a wall-time median of at most 0.25 s on an idle machine.

Only the command's figures, without a database, for this checkout and (``--src``)
another checkout's ``src/`` run by this interpreter, e.g. a worktree of HEAD::

    .venv/bin/python -m bench.bench_startup [--runs 30] [--src /tmp/head-wt/src]

With ``--src`` both are timed in turn in the same run, so that a before/after
comparison sees the same load.
"""

from __future__ import annotations

import argparse
import os
import platform
import resource
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

import httpx

from bench.harness import ROOT, BenchContext, Figure, percentile, table

#: The processes the command figures time: a name, and the interpreter's arguments.
BASELINE = "`python -c pass`"
COMMANDS = {
    BASELINE: ["-c", "pass"],
    "`doorstep --version`": ["-m", "doorstep", "--version"],
    "`doorstep --help`": ["-m", "doorstep", "--help"],
}
#: The command's start-up target (issue 13.4), printed beside its median.
TARGET = "<= 0.25 s (idle)"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _demo_until_ready(data_dir: Path) -> float:
    env = {k: v for k, v in os.environ.items() if k != "DOORSTEP_DATABASE_URL"}
    env["DOORSTEP_DATA_DIR"] = str(data_dir)
    port = _free_port()
    started = time.perf_counter()
    process = subprocess.Popen(
        [sys.executable, "-m", "doorstep", "demo", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        while time.perf_counter() - started < 120:
            if process.poll() is not None:
                raise RuntimeError("demo exited before it was ready")
            try:
                if httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=1).status_code == 200:
                    return time.perf_counter() - started
            except httpx.TransportError:
                pass
            time.sleep(0.02)
        raise RuntimeError("demo did not become ready in 120 s")
    finally:
        process.send_signal(signal.SIGINT)
        process.wait(60)


def _environment(src: Path | None) -> dict[str, str]:
    """This process's environment; with ``src``, that directory first on ``PYTHONPATH``."""
    env = dict(os.environ)
    if src is not None:
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(src), env.get("PYTHONPATH")]))
    return env


def _seconds(args: list[str], env: dict[str, str]) -> tuple[float, float]:
    """Wall and CPU (user + system) seconds of one ``python ARGS`` process (exit 0 required).

    Wall time runs from spawn to exit.  CPU time depends less on what else the
    machine runs, so it compares two versions better on a shared machine.
    """
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    subprocess.run([sys.executable, *args], env=env, cwd=ROOT, check=True, capture_output=True)
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime


def command_samples(
    runs: int, sources: Sequence[Path | None] = (None,)
) -> list[dict[str, list[tuple[float, float]]]]:
    """``runs`` (wall, CPU) times of each of :data:`COMMANDS` for each source, taken in turn.

    A source is a ``src/`` directory put first on ``PYTHONPATH`` (None: this
    checkout's).  Every process runs once unmeasured first (file cache, bytecode).
    """
    envs = [_environment(src) for src in sources]
    samples: list[dict[str, list[tuple[float, float]]]] = [
        {name: [] for name in COMMANDS} for _ in envs
    ]
    for env in envs:
        for args in COMMANDS.values():
            _seconds(args, env)
    for _ in range(runs):
        for env, found in zip(envs, samples, strict=True):
            for name, args in COMMANDS.items():
                found[name].append(_seconds(args, env))
    return samples


def command_figures(samples: dict[str, list[tuple[float, float]]]) -> list[Figure]:
    """Wall time median and p90 and CPU time median of each command, the baseline's beside."""
    base = [wall for wall, _ in samples[BASELINE]]
    base_cpu = statistics.median(cpu for _, cpu in samples[BASELINE])
    base_median, base_p90 = statistics.median(base), percentile(base, 90)
    runs = len(base)
    figures = [
        Figure(f"{BASELINE}, median of {runs}", base_median, "s"),
        Figure(f"{BASELINE}, p90 of {runs}", base_p90, "s"),
        Figure(f"{BASELINE}, CPU time, median", base_cpu, "s"),
    ]
    for name, pairs in samples.items():
        if name == BASELINE:
            continue
        values = [wall for wall, _ in pairs]
        figures += [
            Figure(
                f"{name}, median of {runs}",
                statistics.median(values),
                "s",
                target=TARGET,
                baseline=base_median,
                baseline_name=f"{BASELINE} median",
            ),
            Figure(
                f"{name}, p90 of {runs}",
                percentile(values, 90),
                "s",
                baseline=base_p90,
                baseline_name=f"{BASELINE} p90",
            ),
            Figure(
                f"{name}, CPU time, median",
                statistics.median(cpu for _, cpu in pairs),
                "s",
                baseline=base_cpu,
                baseline_name=f"{BASELINE} CPU",
            ),
        ]
    return figures


def run(ctx: BenchContext) -> list[Figure]:
    """Cold start fresh, warm start (best of 3), and the command's start (30 runs each)."""
    with tempfile.TemporaryDirectory(prefix="doorstep-bench-") as scratch:
        data_dir = Path(scratch) / "data"
        fresh = _demo_until_ready(data_dir)
        warm = min(_demo_until_ready(data_dir) for _ in range(1 if ctx.quick else 3))
    return [
        Figure("demo ready, fresh data dir (initdb + migrations)", fresh, "s"),
        Figure("demo ready, warm data dir", warm, "s"),
        *command_figures(command_samples(10 if ctx.quick else 30)[0]),
    ]


def main(argv: list[str] | None = None) -> int:
    """Print the command's start-up figures (no database, no demo) as a Markdown table."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--runs", type=int, default=30, help="processes per command (30)")
    parser.add_argument(
        "--src",
        type=Path,
        action="append",
        default=[],
        help="also time the doorstep package of this src/ directory, in turn (repeatable)",
    )
    args = parser.parse_args(argv)
    sources: list[Path | None] = [None, *args.src]
    labels = [_label(src) for src in sources]
    load = ", ".join(f"{value:.2f}" for value in os.getloadavg())
    samples = command_samples(args.runs, sources)
    print(
        f"Doorstep command start-up, Python {platform.python_version()}, {platform.machine()}, "
        f"{os.cpu_count()} CPUs, load average before the run {load}\n"
    )
    print(
        table(
            [
                (label, figure)
                for label, found in zip(labels, samples, strict=True)
                for figure in command_figures(found)
            ]
        )
    )
    return 0


def _label(src: Path | None) -> str:
    """``startup (<where the doorstep package imported from src is>)``."""
    where = subprocess.run(
        [sys.executable, "-c", "import doorstep; print(doorstep.__file__)"],
        env=_environment(src),
        cwd=ROOT,
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    return f"startup ({Path(where).parents[1]})"


if __name__ == "__main__":
    sys.exit(main())
