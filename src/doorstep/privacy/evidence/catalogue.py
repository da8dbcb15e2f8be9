"""The clause catalogue of a policy pack (``clauses.yaml``), as the evidence report reads it.

A catalogue lists the policy's testable promises; each has an ``id``
(``CPE-I.ii.1.c``), the ``source`` (file and section heading), the exact
``quote``, the ``obligation`` (what the software must do) and optional
``kind``, ``test`` and ``notes``.  An operator's pack may say which clauses of
the reference pack keep each of its own (``maps_to: [CPE-I.ii.1.c]``,
:mod:`doorstep.privacy.datamap.clause_map`): their tests and code are this
clause's evidence too.  ``meta.sources`` names each source document
by the prefix of the ids that come from it (``CPE`` -> "CPE Product Privacy
Policy V1.1").

Clauses are grouped into sections by their id up to the first dot (``CPE-IV.1.a``
is in ``CPE-IV``); a section is titled by its source's name and the heading of
its first clause.  :func:`load_catalogue` raises :class:`ConfigurationError`
naming the file and the offending clause.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from doorstep.core.errors import ConfigurationError

#: A heading's trailing remark in parentheses: "I.ii.1 Device Registration (storage period)".
_REMARK = re.compile(r"\s*\([^()]*\)\s*$")


@dataclass(frozen=True, slots=True)
class Clause:
    """One promise of the policy."""

    id: str
    section: str
    quote: str
    obligation: str
    source: str = ""
    kind: str = ""
    notes: str = ""
    #: Reference-pack clause ids whose evidence is this clause's too.
    maps_to: tuple[str, ...] = ()

    @property
    def evidence_ids(self) -> tuple[str, ...]:
        """The ids whose tests and keepers prove this clause: its own, then ``maps_to``."""
        return (self.id, *(ref for ref in self.maps_to if ref != self.id))

    @property
    def group(self) -> str:
        """The section key the clause is counted under (its id up to the first dot)."""
        return self.id.split(".", 1)[0]


@dataclass(frozen=True, slots=True)
class Section:
    """A group of clauses: ``CPE-IV``, titled for a reader."""

    key: str
    title: str


@dataclass(frozen=True, slots=True)
class Catalogue:
    """The clauses of one pack in the catalogue's order, and their sections."""

    path: Path
    title: str
    clauses: tuple[Clause, ...]
    sections: tuple[Section, ...]


def _text(value: Any) -> str:
    return " ".join(str(value).split()) if isinstance(value, str | int | float) else ""


def _mapping(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _clause(item: Any, index: int, sources: dict[str, str], where: Path) -> Clause:
    if not isinstance(item, dict) or not _text(item.get("id")):
        raise ConfigurationError(f"{where}: clause #{index + 1} has no id")
    clause_id = _text(item["id"])
    source = _mapping(item.get("source"))
    for field in ("quote", "obligation"):
        if not _text(item.get(field)):
            raise ConfigurationError(f"{where}: clause {clause_id} has no {field}")
    refs = item.get("maps_to") or []
    if not isinstance(refs, list) or not all(isinstance(ref, str) for ref in refs):
        raise ConfigurationError(f"{where}: clause {clause_id} maps_to must be a list of ids")
    prefix = clause_id.split("-", 1)[0]
    return Clause(
        id=clause_id,
        section=_text(source.get("section")),
        quote=_text(item["quote"]),
        obligation=_text(item["obligation"]),
        source=sources.get(prefix, _text(source.get("file"))),
        kind=_text(item.get("kind")),
        notes=_text(item.get("notes")),
        maps_to=tuple(refs),
    )


def _sources(meta: dict[str, Any]) -> dict[str, str]:
    found = meta.get("sources")
    if not isinstance(found, dict):
        return {}
    return {
        str(prefix): _text(spec.get("name")) or str(prefix)
        for prefix, spec in found.items()
        if isinstance(spec, dict)
    }


def _sections(clauses: tuple[Clause, ...]) -> tuple[Section, ...]:
    sections: dict[str, Section] = {}
    for clause in clauses:
        if clause.group not in sections:
            heading = _REMARK.sub("", clause.section)
            title = " · ".join(part for part in (clause.source, heading) if part)
            sections[clause.group] = Section(clause.group, title or clause.group)
    return tuple(sections.values())


def load_catalogue(pack_dir: Path) -> Catalogue:
    """Read ``pack_dir/clauses.yaml``; every clause needs an id, a quote and an obligation."""
    path = pack_dir / "clauses.yaml"
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except FileNotFoundError:
        raise ConfigurationError(
            f"{path} does not exist: the pack has no clause catalogue"
        ) from None
    except (OSError, yaml.YAMLError) as exc:
        raise ConfigurationError(f"{path} cannot be read ({exc})") from None
    items = raw.get("clauses") if isinstance(raw, dict) else None
    if not isinstance(items, list):
        raise ConfigurationError(f"{path}: 'clauses' must be a list")
    meta = _mapping(raw.get("meta"))
    sources = _sources(meta)
    clauses = tuple(_clause(item, index, sources, path) for index, item in enumerate(items))
    seen: set[str] = set()
    for clause in clauses:
        if clause.id in seen:
            raise ConfigurationError(f"{path}: clause {clause.id} is listed twice")
        seen.add(clause.id)
    return Catalogue(path, _text(meta.get("title")), clauses, _sections(clauses))
