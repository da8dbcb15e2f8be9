"""The checks of a pack that read its files alone: consent texts, clauses, purpose references.

Each returns :class:`Problem` s located in the pack's files (``consent.yaml:12``):

* :func:`consent_problems` — a consent term for a purpose the pack lacks, a
  term without its text in every language ``policy.languages`` declares
  (English is the plain ``function``/``manual_path``, each further language is
  ``translations.<lang>``; a language not declared is refused), a clause id the
  catalogue lacks;
* :func:`reference_problems` — any other ``purposes:``/``purpose:`` in the pack's
  files (a recipient's, a region's …) naming a purpose the pack lacks;
* :func:`quote_problems` — a clause whose ``quote`` (or the quote of one of its
  ``also_in`` or ``translations.<lang>``) no longer appears in its policy text,
  whitespace normalised.
"""

from __future__ import annotations

from collections.abc import Collection, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from doorstep.core.errors import ConfigurationError
from doorstep.privacy.datamap.pack import DATAMAP_FILE
from doorstep.privacy.datamap.pack_lines import PREFIX, line_of, load_yaml, located

CONSENT_FILE = "consent.yaml"
CLAUSES_FILE = "clauses.yaml"
#: The language of a consent term's plain ``function`` and ``manual_path``.
BASE_LANGUAGE = "en"
#: Files of a pack that are not its policy text (when a clause names no source file).
NOT_POLICY_TEXT = frozenset({"README.md"})


@dataclass(frozen=True, slots=True)
class Problem:
    """One problem: the pack file and line it is at (``file`` empty: in the schema)."""

    file: str
    line: int | None
    message: str

    def __str__(self) -> str:
        return located(self.file, self.line) + self.message if self.file else self.message

    @classmethod
    def from_error(cls, detail: str) -> Problem:
        """The problem a pack loader's ``policy pack: FILE:LINE: message`` names."""
        text = detail.removeprefix(PREFIX)
        head, sep, rest = text.partition(": ")
        name, _, line = head.partition(":")
        if sep and name.endswith((".yaml", ".yml")) and "/" not in name:
            return cls(name, int(line) if line.isdigit() else None, rest)
        return cls("", None, text)


def read_file(path: Path, name: str) -> tuple[Any, list[Problem]]:
    """``path/name`` parsed with lines (None when absent), or the problem that it is not YAML."""
    try:
        return load_yaml(path / name), []
    except FileNotFoundError:
        return None, []
    except ConfigurationError as exc:
        return None, [Problem.from_error(exc.detail)]


def clause_ids(clauses: Any) -> frozenset[str]:
    """The ids of a parsed ``clauses.yaml`` (empty when there is none)."""
    items = clauses.get("clauses") if isinstance(clauses, dict) else None
    return frozenset(
        str(item["id"]) for item in items or () if isinstance(item, dict) and "id" in item
    )


def _strings(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    return [item for item in value if isinstance(item, str)] if isinstance(value, list) else []


def _languages(consent: dict[str, Any]) -> list[str]:
    policy = consent.get("policy")
    declared = _strings(policy.get("languages")) if isinstance(policy, dict) else []
    return declared or [BASE_LANGUAGE]


def _term_problems(
    key: str, at: int | None, spec: dict[str, Any], languages: list[str], ids: frozenset[str]
) -> Iterator[Problem]:
    """The problems of the consent term of purpose ``key``, whose key is on line ``at``."""
    where = f"purpose {key!r}"
    optional = spec.get("optional") is True
    if optional and not str(spec.get("manual_path") or "").strip():
        yield Problem(CONSENT_FILE, at, f"{where} manual_path is required")
    cited = spec.get("clauses")
    for clause in _strings(cited):
        if ids and clause not in ids:
            line = line_of(spec, "clauses")
            yield Problem(CONSENT_FILE, line, f"{where} cites unknown clause {clause!r}")
    translations = spec.get("translations")
    if translations is None:
        translations = {}
    if not isinstance(translations, dict):
        line = line_of(spec, "translations")
        yield Problem(CONSENT_FILE, line, f"{where} translations must be a mapping")
        return
    for language in translations:
        if language not in languages or language == BASE_LANGUAGE:
            yield Problem(
                CONSENT_FILE,
                line_of(translations, language),
                f"{where} has text in {language!r}, which is not a further language of "
                f"policy.languages ({', '.join(languages)})",
            )
    needed = ("function", "manual_path") if optional else ("function",)
    for language in (item for item in languages if item != BASE_LANGUAGE):
        text = translations.get(language)
        if not isinstance(text, dict):
            yield Problem(
                CONSENT_FILE,
                line_of(translations, language) or at,
                f"{where} has no text in {language!r} "
                f"(translations.{language} with {' and '.join(needed)})",
            )
            continue
        for name in needed:
            if not str(text.get(name) or "").strip():
                yield Problem(
                    CONSENT_FILE,
                    line_of(text, name) or line_of(translations, language),
                    f"{where} translations.{language}.{name} is required",
                )


def consent_problems(consent: Any, purposes: Collection[str], ids: frozenset[str]) -> list[Problem]:
    """The problems of a parsed ``consent.yaml`` (none when the pack has no consent terms)."""
    if not isinstance(consent, dict):
        return []
    terms = consent.get("purposes")
    if not isinstance(terms, dict):
        return []
    languages = _languages(consent)
    found: list[Problem] = []
    for key, spec in terms.items():
        if key not in purposes:
            found.append(
                Problem(
                    CONSENT_FILE,
                    line_of(terms, key),
                    f"names unknown purpose {key!r} (not in {DATAMAP_FILE})",
                )
            )
        if isinstance(spec, dict):
            found.extend(_term_problems(str(key), line_of(terms, key), spec, languages, ids))
    return found


def _walk(value: Any, trail: str) -> Iterator[tuple[str, Any, str, Any]]:
    """(trail, mapping, key, value) for every key of every mapping under ``value``."""
    if isinstance(value, dict):
        for key, item in value.items():
            yield trail, value, str(key), item
            yield from _walk(item, f"{trail}.{key}" if trail else str(key))
    elif isinstance(value, list):
        for item in value:
            yield from _walk(item, trail)


def reference_problems(name: str, raw: Any, purposes: Collection[str]) -> list[Problem]:
    """``purposes:``/``purpose:`` entries of file ``name`` naming a purpose the pack lacks.

    The top-level ``purposes:`` of ``datamap.yaml`` (which declares them) and of
    ``consent.yaml`` (checked by :func:`consent_problems`) are not references.
    """
    if not isinstance(raw, dict):
        return []
    found: list[Problem] = []
    for key, section in raw.items():
        if key == "purposes" and name in {DATAMAP_FILE, CONSENT_FILE}:
            continue
        for trail, mapping, field, value in _walk({key: section}, ""):
            if field not in {"purposes", "purpose"}:
                continue
            found.extend(
                Problem(
                    name,
                    line_of(mapping, field),
                    f"{trail}.{field} names unknown purpose {purpose!r} (not in {DATAMAP_FILE})",
                )
                for purpose in _strings(value)
                if purpose not in purposes
            )
    return found


def _normal(text: str) -> str:
    return " ".join(text.split())


def _policy_texts(path: Path) -> list[str]:
    """The pack's policy text files: every ``.txt`` and ``.md`` but its README."""
    return sorted(
        item.name
        for item in path.iterdir()
        if item.suffix in {".txt", ".md"} and item.name not in NOT_POLICY_TEXT
    )


def _quoted(
    path: Path, spec: dict[str, Any], file: Any, clause: str, texts: dict[str, str | None]
) -> Problem | None:
    """The problem of one quote of ``clause`` (``file``: where it should be; None: any text)."""
    quote = spec.get("quote")
    if not isinstance(quote, str) or not quote.strip():
        return None
    names = [str(file)] if file else _policy_texts(path)
    for name in names:
        if name not in texts:
            source = (path / name).resolve()
            inside = source.is_relative_to(path.resolve()) and source.is_file()
            texts[name] = _normal(source.read_text(encoding="utf-8")) if inside else None
        if file and texts[name] is None:
            line = line_of(spec, "file") or line_of(spec, "source") or line_of(spec)
            return Problem(
                CLAUSES_FILE, line, f"clause {clause!r} names {name!r}, which the pack lacks"
            )
    if any(_normal(quote) in (texts[name] or "") for name in names):
        return None
    start = _normal(quote)[:40]
    return Problem(
        CLAUSES_FILE,
        line_of(spec, "quote"),
        f"clause {clause!r}: the quote {start!r}… is no longer in "
        + (str(file) if file else "the policy texts"),
    )


def quote_problems(path: Path, clauses: Any) -> list[Problem]:
    """Each clause quote of a parsed ``clauses.yaml`` that its policy text no longer holds."""
    items = clauses.get("clauses") if isinstance(clauses, dict) else None
    texts: dict[str, str | None] = {}
    found: list[Problem] = []
    for item in items or ():
        if not isinstance(item, dict):
            continue
        clause = str(item.get("id", "?"))
        source = item.get("source")
        file = source.get("file") if isinstance(source, dict) else source
        quotes: list[tuple[Any, Any]] = [(item, file)]
        quotes += [(also, also.get("file")) for also in item.get("also_in") or ()]
        translations = item.get("translations")
        if isinstance(translations, dict):
            quotes += [(text, text.get("file")) for text in translations.values()]
        for spec, where in quotes:
            if not isinstance(spec, dict):
                continue
            problem = _quoted(path, spec, where, clause, texts)
            if problem is not None:
                found.append(problem)
    return found


def yaml_problem(name: str, exc: yaml.YAMLError) -> Problem:
    """A YAML error raised while a loader read ``name``."""
    mark = getattr(exc, "problem_mark", None)
    reason = str(getattr(exc, "problem", None) or exc).strip()
    line = mark.line + 1 if mark is not None else None
    return Problem(name, line, f"is not valid YAML ({reason})")
