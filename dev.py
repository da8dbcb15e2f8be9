#!/usr/bin/env python3
"""Bootstrap and run Doorstep with nothing but Python 3.11+.

Usage::

    python3 dev.py demo [ARGS...]   # run Doorstep with its embedded defaults
    python3 dev.py test [ARGS...]   # run every check: ruff, mypy, the test suite

Both create (or refresh) a virtual environment in ``.venv`` from ``pyproject.toml``
and ``constraints.txt``; the environment is rebuilt only when one of those files
changes (a stamp file holds their hash).  Extra arguments go to ``doorstep demo``
or to pytest.  ``test`` records which tests prove which policy clause, and their
outcomes, in ``.evidence/clause-results.json`` (what ``doorstep evidence`` reads).
This file uses the standard library only, on purpose.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
STAMP = VENV / ".doorstep-stamp"
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")
PY = BIN / "python"
#: The last test run's clause outcomes (git-ignored); `doorstep evidence` reads it.
EVIDENCE_RESULTS = ROOT / ".evidence" / "clause-results.json"


def _inputs_hash() -> str:
    digest = hashlib.sha256()
    for name in ("pyproject.toml", "constraints.txt"):
        path = ROOT / name
        if path.exists():
            digest.update(path.read_bytes())
    return digest.hexdigest()


def ensure_venv() -> None:
    """Create ``.venv`` and install Doorstep with its dev extras when inputs changed."""
    if sys.version_info < (3, 11):
        sys.exit("Doorstep needs Python 3.11 or newer; this is " + sys.version.split()[0])
    wanted = _inputs_hash()
    if STAMP.exists() and STAMP.read_text() == wanted and PY.exists():
        return
    if not PY.exists():
        print("dev.py: creating .venv", flush=True)
        venv.EnvBuilder(with_pip=True, clear=True).create(VENV)
    print("dev.py: installing Doorstep and its dependencies into .venv", flush=True)
    pip = [str(PY), "-m", "pip", "install", "--disable-pip-version-check", "-q"]
    constraints = ROOT / "constraints.txt"
    extra = ["-c", str(constraints)] if constraints.exists() else []
    subprocess.run([*pip, "--upgrade", "pip"], check=True)
    subprocess.run([*pip, *extra, "-e", f"{ROOT}[dev]"], check=True)
    STAMP.write_text(wanted)


def run_checks(pytest_args: list[str]) -> int:
    """Run ruff, mypy, the layer contracts and pytest in that order; stop at the first failure."""
    steps: list[tuple[str, list[str]]] = [
        ("ruff check", [str(PY), "-m", "ruff", "check", "src", "tests", "bench", "dev.py"]),
        ("ruff format", [str(PY), "-m", "ruff", "format", "--check", "src", "tests", "bench"]),
        ("mypy --strict", [str(PY), "-m", "mypy"]),
        ("lint-imports (layers)", [str(BIN / "lint-imports")]),
        (
            "pytest",
            [
                str(PY),
                "-m",
                "pytest",
                "-n",
                os.environ.get("DOORSTEP_TEST_WORKERS", "auto"),
                # Which tests prove which clause, and how they ended: `doorstep evidence` reads it.
                "--clause-report",
                str(EVIDENCE_RESULTS.relative_to(ROOT)),  # pytest runs in ROOT
                *pytest_args,
            ],
        ),
    ]
    for title, command in steps:
        print(f"dev.py: {title}", flush=True)
        code = subprocess.run(command, cwd=ROOT, check=False).returncode
        if code != 0:
            print(f"dev.py: {title} failed (exit {code})", file=sys.stderr)
            return code
    return 0


def main(argv: list[str]) -> int:
    if not argv or argv[0] not in {"demo", "test"}:
        print(__doc__)
        return 2
    ensure_venv()
    command, rest = argv[0], argv[1:]
    if command == "demo":
        doorstep = BIN / "doorstep"
        try:
            return subprocess.run([str(doorstep), "demo", *rest], check=False).returncode
        except KeyboardInterrupt:
            return 130
    return run_checks(rest)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
