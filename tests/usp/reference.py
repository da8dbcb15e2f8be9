"""Read the schema notation of the USP wire reference (shared/usp/README.md).

The reference writes each message as ``Name: number field type; …`` with nesting by
indentation, ``T[]`` for repeated, ``map`` for map<string,string>, ``oneof x {a | b}``
and ``enum Name: A=0 B=1``.  :func:`read_schema` turns the two schema blocks into
plain data, so a test can hold the generated protobuf descriptors against the text
the schema was written from.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
LOCAL_REFERENCE = HERE / "wire-reference.md"
SHARED_USP = HERE.parents[2] / "shared" / "usp"

SCALARS = {"string", "bytes", "bool", "uint32", "uint64", "fixed32"}
_DEFINITION = re.compile(r"^(\s*)(enum\s+)?([A-Z][A-Za-z0-9]*)(?:\s*\[1\.4\])?:\s*(.*)$")
_FIELD = re.compile(r"^(\d+)\s+(\w+)\s+(\w+)(\[\])?$")
_ONEOF = re.compile(r"oneof\s+(\w+)\s*\{([^}]*)\}")


@dataclass(frozen=True)
class Field:
    """One field as the reference states it; ``type`` is resolved to a full name."""

    number: int
    name: str
    type: str  # a scalar name, "map", or the full name of a message or enum
    repeated: bool
    oneof: str | None


@dataclass
class Schema:
    """Messages (full name -> fields) and enums (full name -> {value name: number})."""

    messages: dict[str, list[Field]] = field(default_factory=dict)
    enums: dict[str, dict[str, int]] = field(default_factory=dict)


def _block_after(text: str, heading: str) -> list[str]:
    start = text.index(heading)
    open_at = text.index("```", start)
    body_at = text.index("\n", open_at) + 1
    return text[body_at : text.index("```", body_at)].splitlines()


def _definitions(lines: list[str], package: str) -> list[tuple[str, bool, str]]:
    """(full name, is_enum, body text) for every definition, in order."""
    stack: list[tuple[int, str]] = []
    out: list[list[object]] = []
    for line in lines:
        if not line.strip():
            continue
        match = _DEFINITION.match(line)
        if match is None:
            out[-1][2] = f"{out[-1][2]} {line.strip()}"
            continue
        indent = len(match.group(1))
        while stack and stack[-1][0] >= indent:
            stack.pop()
        parent = stack[-1][1] if stack else package
        name = f"{parent}.{match.group(3)}"
        stack.append((indent, name))
        out.append([name, bool(match.group(2)), match.group(4)])
    return [(str(n), bool(e), str(b)) for n, e, b in out]


def _resolve(type_name: str, scope: str, known: set[str], package: str) -> str:
    if type_name in SCALARS or type_name == "map":
        return type_name
    parts = scope.split(".")
    while len(parts) >= 1:
        candidate = ".".join([*parts, type_name])
        if candidate in known:
            return candidate
        if parts == [package]:
            break
        parts.pop()
    raise AssertionError(f"reference names unknown type {type_name} in {scope}")


def _fields(body: str, scope: str, known: set[str], package: str) -> list[Field]:
    body = re.sub(r"\([^)]*\)", "", body).replace("[1.4]", "")
    fields: list[Field] = []
    for oneof_name, members in _ONEOF.findall(body):
        for member in members.split("|"):
            fields.append(_field(member, oneof_name, scope, known, package))
    rest = _ONEOF.sub("", body)
    for item in rest.split(";"):
        if item.strip():
            fields.append(_field(item, None, scope, known, package))
    return fields


def _field(text: str, oneof: str | None, scope: str, known: set[str], package: str) -> Field:
    match = _FIELD.match(text.strip())
    assert match, f"cannot read field {text.strip()!r} of {scope}"
    number, name, type_name, repeated = match.groups()
    return Field(
        int(number), name, _resolve(type_name, scope, known, package), bool(repeated), oneof
    )


def read_schema(readme: Path) -> Schema:
    """Both schema blocks of the reference, as plain data."""
    text = readme.read_text(encoding="utf-8")
    schema = Schema()
    for heading, package in (
        ("## Record (package `usp_record`)", "usp_record"),
        ("## Msg (package `usp`)", "usp"),
    ):
        definitions = _definitions(_block_after(text, heading), package)
        known = {name for name, _, _ in definitions}
        for name, is_enum, body in definitions:
            if is_enum:
                pairs = (item.split("=") for item in body.split())
                schema.enums[name] = {key: int(value) for key, value in pairs}
            else:
                schema.messages[name] = _fields(body, name, known, package)
    return schema
