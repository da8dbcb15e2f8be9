"""Rules of the codebase that a reviewer would otherwise have to remember."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src" / "doorstep"
MAX_LINES = 400
#: Generated code is exempt from the size rule.
GENERATED = ("_pb2.py", "_pb2.pyi")


def _modules() -> list[Path]:
    return sorted(p for p in SRC.rglob("*.py") if not p.name.endswith(GENERATED))


def test_time_comes_from_the_clock_only() -> None:
    """`datetime.now()`/`utcnow()`/`date.today()` outside core/clock.py bypass the fake clock."""
    offenders = []
    for path in _modules():
        if path == SRC / "core" / "clock.py":
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and node.func.attr in {"now", "utcnow", "today"}
                and isinstance(node.func.value, ast.Name)
                and node.func.value.id in {"datetime", "date"}
            ):
                offenders.append(f"{path.relative_to(SRC)}:{node.lineno}")
    assert offenders == [], f"use the injected Clock instead: {offenders}"


@pytest.mark.parametrize("path", _modules(), ids=lambda p: str(p.relative_to(SRC)))
def test_modules_stay_small(path: Path) -> None:
    lines = path.read_text(encoding="utf-8").count("\n")
    assert lines <= MAX_LINES, f"{path.name} has {lines} lines; split it into private submodules"


def test_settings_are_never_built_at_import() -> None:
    """Module-level calls of load_settings()/Settings() would read the environment at import."""
    offenders = []

    class AtImport(ast.NodeVisitor):
        """Visits what runs at import: everything but function and lambda bodies."""

        def __init__(self, where: Path) -> None:
            self.where = where

        def visit_FunctionDef(self, node: ast.FunctionDef) -> None:
            for decorator in node.decorator_list:
                self.visit(decorator)

        visit_AsyncFunctionDef = visit_FunctionDef  # type: ignore[assignment]

        def visit_Lambda(self, node: ast.Lambda) -> None:
            return

        def visit_Call(self, node: ast.Call) -> None:
            if isinstance(node.func, ast.Name) and node.func.id in {"load_settings", "Settings"}:
                offenders.append(f"{self.where.relative_to(SRC)}:{node.lineno}")
            self.generic_visit(node)

    for path in _modules():
        AtImport(path).visit(ast.parse(path.read_text(encoding="utf-8")))
    assert offenders == []
