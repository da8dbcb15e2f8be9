"""Which clauses a decision declares not applicable, and which are kept only in part.

The mapping is a small YAML file beside the decisions
(:data:`DEFAULT_NOTES`, ``docs/decisions/clause-status.yaml``)::

    not_applicable:
      CORP-1.13:
        decision: 0017-clauses-outside-doorstep.md   # a file beside this one
        why: Doorstep takes no purchase orders.
    partial:
      CPE-IV.1.a: TLS is terminated by the operator's reverse proxy; no test drives it.

A clause is "not applicable" only with a decision that exists, so the report can
always name it; ``partial`` says what is missing from a clause whose tests pass.
:func:`load_notes` raises :class:`ConfigurationError` naming the file and entry.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from doorstep.core.errors import ConfigurationError

#: Where the mapping lives in a checkout (relative to it).
DEFAULT_NOTES = Path("docs") / "decisions" / "clause-status.yaml"


@dataclass(frozen=True, slots=True)
class NotApplicable:
    """A clause a decision declares not applicable: the decision's file name and why."""

    decision: str
    why: str


@dataclass(frozen=True, slots=True)
class ClauseNotes:
    """The decisions' word on clauses: not applicable ones and partly kept ones."""

    not_applicable: dict[str, NotApplicable] = field(default_factory=dict)
    partial: dict[str, str] = field(default_factory=dict)

    def unknown_ids(self, known: set[str]) -> list[str]:
        """Ids noted here that are not clauses of the catalogue (another pack's, or a typo)."""
        return sorted((set(self.not_applicable) | set(self.partial)) - known)


def _mapping(raw: dict[str, Any], name: str, where: Path) -> dict[str, Any]:
    value = raw.get(name) or {}
    if not isinstance(value, dict):
        raise ConfigurationError(f"{where}: '{name}' must map clause ids to entries")
    return {str(key): item for key, item in value.items()}


def parse_notes(raw: Any, where: Path) -> ClauseNotes:
    """The notes of a decoded mapping; ``where`` is the file (decisions are beside it)."""
    if raw is None:
        return ClauseNotes()
    if not isinstance(raw, dict):
        raise ConfigurationError(f"{where} must hold a mapping")
    not_applicable: dict[str, NotApplicable] = {}
    for clause_id, entry in _mapping(raw, "not_applicable", where).items():
        decision = entry.get("decision") if isinstance(entry, dict) else None
        why = entry.get("why") if isinstance(entry, dict) else None
        if not isinstance(decision, str) or not isinstance(why, str) or not why.strip():
            raise ConfigurationError(
                f"{where}: not_applicable {clause_id} needs a 'decision' (file) and a 'why'"
            )
        if not (where.parent / decision).is_file():
            raise ConfigurationError(
                f"{where}: not_applicable {clause_id} names decision {decision!r}, "
                f"which is not a file in {where.parent}"
            )
        not_applicable[clause_id] = NotApplicable(decision, " ".join(why.split()))
    partial: dict[str, str] = {}
    for clause_id, missing in _mapping(raw, "partial", where).items():
        if not isinstance(missing, str) or not missing.strip():
            raise ConfigurationError(f"{where}: partial {clause_id} must say what is missing")
        partial[clause_id] = " ".join(missing.split())
    both = sorted(set(not_applicable) & set(partial))
    if both:
        raise ConfigurationError(f"{where}: {both[0]} is both not_applicable and partial")
    return ClauseNotes(not_applicable, partial)


def load_notes(path: Path, *, required: bool) -> ClauseNotes:
    """Read the mapping at ``path``; a missing file is no notes unless ``required``."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        if required:
            raise ConfigurationError(f"{path} does not exist") from None
        return ClauseNotes()
    except OSError as exc:
        raise ConfigurationError(f"{path} cannot be read ({exc.strerror})") from None
    try:
        raw = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ConfigurationError(f"{path} is not valid YAML ({exc})") from None
    return parse_notes(raw, path)
