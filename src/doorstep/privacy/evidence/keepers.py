"""What keeps each clause: the declarations that cite it and the places that name it.

Only facts that can be checked are listed:

* **purpose** and **retention rule** — the pack's ``datamap.yaml`` entries whose
  ``clauses:`` cite the id;
* **data element** — the columns (``table.column``) whose ``personal(...,
  clauses=[...])`` declaration cites it;
* **code** — source files of the package (``*.py``, templates) that name the id,
  with the line numbers;
* **decision** — the recorded decisions (``docs/decisions/*.md``) that name it.

An id is matched whole: ``CORP-1.1`` is not found inside ``CORP-1.10`` or ``CORP-1.1.a``.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from doorstep.privacy.datamap.pack import PolicyPack

#: The order kinds are listed in, and their names for a reader.
KINDS = ("purpose", "retention rule", "data element", "code", "decision")
#: The files of the package whose text is searched for clause ids.
CODE_SUFFIXES = (".py", ".html")


@dataclass(frozen=True, slots=True)
class Keeper:
    """One thing that keeps a clause: its kind, its name and a short description."""

    kind: str
    name: str
    detail: str = ""


def _id_pattern(clause_ids: Iterable[str]) -> re.Pattern[str] | None:
    ids = sorted(set(clause_ids), key=lambda item: (-len(item), item))
    if not ids:
        return None
    alternatives = "|".join(re.escape(item) for item in ids)
    return re.compile(rf"(?<![\w.-])({alternatives})(?![\w-]|\.\w)")


def mentions(
    clause_ids: Iterable[str], files: Iterable[Path], *, relative_to: Path
) -> dict[str, list[tuple[str, list[int]]]]:
    """clause id -> [(file, line numbers)] for every file of ``files`` that names it."""
    pattern = _id_pattern(clause_ids)
    found: dict[str, list[tuple[str, list[int]]]] = defaultdict(list)
    if pattern is None:
        return found
    for path in sorted(files):
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            continue
        lines: dict[str, list[int]] = defaultdict(list)
        for number, line in enumerate(text.splitlines(), start=1):
            for match in pattern.finditer(line):
                if number not in lines[match.group(1)]:
                    lines[match.group(1)].append(number)
        name = path.relative_to(relative_to).as_posix()
        for clause_id, numbers in lines.items():
            found[clause_id].append((name, numbers))
    return found


def code_files(package_dir: Path) -> list[Path]:
    """The package's source files and templates (the pack's own texts excluded)."""
    return [
        path
        for path in package_dir.rglob("*")
        if path.suffix in CODE_SUFFIXES
        and path.is_file()
        and "policy_pack" not in path.relative_to(package_dir).parts
        and "__pycache__" not in path.parts
    ]


def gather_keepers(
    clause_ids: Iterable[str],
    *,
    pack: PolicyPack,
    elements: Iterable[tuple[str, tuple[str, ...], str]],
    package_dir: Path | None,
    decisions_dir: Path | None,
) -> dict[str, tuple[Keeper, ...]]:
    """clause id -> what keeps it, in :data:`KINDS` order.

    ``elements`` are the data map's personal elements as (``table.column``, cited
    clause ids, description); ``package_dir`` is searched for code naming an id
    and ``decisions_dir`` for decisions naming it (either may be None: not searched).
    """
    ids = list(clause_ids)
    found: dict[str, list[Keeper]] = defaultdict(list)
    for purpose in pack.purposes.values():
        for clause_id in purpose.clauses:
            found[clause_id].append(Keeper("purpose", purpose.key, purpose.description))
    for rule in pack.retention.values():
        for clause_id in rule.clauses:
            found[clause_id].append(Keeper("retention rule", rule.key, rule.description))
    for element, cited, description in elements:
        for clause_id in cited:
            found[clause_id].append(Keeper("data element", element, description))
    if package_dir is not None:
        places = mentions(ids, code_files(package_dir), relative_to=package_dir.parent)
        for clause_id, files in places.items():
            for name, lines in files:
                detail = "line " if len(lines) == 1 else "lines "
                found[clause_id].append(
                    Keeper("code", name, detail + ", ".join(str(n) for n in lines))
                )
    if decisions_dir is not None and decisions_dir.is_dir():
        places = mentions(ids, decisions_dir.glob("*.md"), relative_to=decisions_dir)
        for clause_id, files in places.items():
            found[clause_id].extend(Keeper("decision", name) for name, _ in files)
    order = {kind: index for index, kind in enumerate(KINDS)}
    return {
        clause_id: tuple(
            sorted(
                dict.fromkeys(keepers),
                key=lambda keeper: (order[keeper.kind], keeper.name),
            )
        )
        for clause_id, keepers in found.items()
    }
