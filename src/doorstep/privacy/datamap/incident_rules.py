"""The pack's ``incidents:`` section: jurisdictions, their authorities and notification clocks.

Decision 0018 fixes the clock at 72 hours from awareness, for the supervisory
authority and for the subjects alike; a pack may name a *shorter* period per
jurisdiction (PIPL Art. 57's "immediately" is ``0``), never a longer one::

    incidents:
      home: CN                 # subjects whose mobile number names no jurisdiction below
      jurisdictions:
        CN:
          authority: Cyberspace Administration of China
          authority_hours: 0   # immediately
          subject_hours: 72
          calling_codes: ["86"]
        EU:
          authority: The lead supervisory authority (GDPR Art. 55, 56)
          authority_hours: 72
          calling_codes: ["49", "33"]

A subject's jurisdiction is read from the country calling code of the account's
mobile number (the longest code that matches); a subject without one belongs to
``home`` (decision 0022).  Without the section the pack has one jurisdiction,
``default``, at 72 hours for both.  :func:`incident_rules` raises a
:class:`ConfigurationError` naming the file and line; :func:`problems` lists
every problem of the section, for ``doorstep pack check``.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from doorstep.core.errors import ConfigurationError
from doorstep.core.settings.incidents import INCIDENT_MAX_HOURS
from doorstep.privacy.datamap.pack_lines import line_of, located

#: The section's key in ``datamap.yaml``.
SECTION = "incidents"
_CODE = re.compile(r"^[1-9][0-9]{0,2}$")
_KEY = re.compile(r"^[A-Za-z][A-Za-z0-9_-]{0,31}$")
_FILE = "datamap.yaml"


@dataclass(frozen=True, slots=True)
class JurisdictionRule:
    """One jurisdiction: its supervisory authority, the two clocks, and its calling codes."""

    key: str
    authority: str
    authority_hours: int = INCIDENT_MAX_HOURS
    subject_hours: int = INCIDENT_MAX_HOURS
    calling_codes: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class IncidentRules:
    """Every jurisdiction of the pack, and the one of subjects no calling code places."""

    home: str = "default"
    jurisdictions: dict[str, JurisdictionRule] = field(
        default_factory=lambda: {
            "default": JurisdictionRule("default", "the supervisory authority")
        }
    )

    def codes(self) -> list[tuple[str, str]]:
        """``(calling code, jurisdiction)``, longest code first (the order to match in)."""
        pairs = [
            (code, key) for key, rule in self.jurisdictions.items() for code in rule.calling_codes
        ]
        return sorted(pairs, key=lambda pair: (-len(pair[0]), pair[0]))


def _hours(spec: dict[str, Any], name: str, where: str) -> tuple[int, str | None]:
    value = spec.get(name, INCIDENT_MAX_HOURS)
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        return (
            INCIDENT_MAX_HOURS,
            f"{where} {name} must be a whole number of hours (0: immediately)",
        )
    if value > INCIDENT_MAX_HOURS:
        return INCIDENT_MAX_HOURS, (
            f"{where} {name} is {value} hours: longer than the {INCIDENT_MAX_HOURS} hours "
            "decision 0018 allows (a pack may only shorten it)"
        )
    return value, None


_Problem = Callable[[Any, Any, str], None]


def _codes(
    spec: dict[str, Any], where: str, key: str, seen: dict[str, str], problem: _Problem
) -> tuple[str, ...]:
    """The jurisdiction's calling codes without ``+``; each code belongs to one jurisdiction."""
    codes = spec.get("calling_codes") or []
    if not isinstance(codes, list):
        problem(spec, "calling_codes", f"{where} calling_codes must be a list")
        return ()
    clean: list[str] = []
    for code in codes:
        text = str(code).lstrip("+")
        if not _CODE.match(text):
            problem(spec, "calling_codes", f"{where} calling code {code!r} is not 1 to 3 digits")
        elif text in seen:
            problem(
                spec, "calling_codes", f"{where} calling code {text!r} is also {seen[text]!r}'s"
            )
        else:
            seen[text] = key
            clean.append(text)
    return tuple(clean)


def _rule(
    listed: dict[Any, Any], key: Any, seen: dict[str, str], problem: _Problem
) -> JurisdictionRule | None:
    """One jurisdiction's rule, or None when its key or shape is wrong (reported)."""
    where = f"incidents jurisdiction {key!r}"
    spec = listed[key]
    if not isinstance(key, str) or not _KEY.match(key):
        problem(listed, key, f"{where}: a jurisdiction key is a short name (EU, CN, gdpr)")
        return None
    if not isinstance(spec, dict):
        problem(listed, key, f"{where} must be a mapping")
        return None
    authority = spec.get("authority")
    if not isinstance(authority, str) or not authority.strip():
        named = "authority" in spec
        problem(
            spec if named else listed,
            "authority" if named else key,
            f"{where} needs the name of its supervisory authority ('authority')",
        )
        authority = ""
    hours = {}
    for name in ("authority_hours", "subject_hours"):
        hours[name], message = _hours(spec, name, where)
        if message:
            problem(spec, name, message)
    codes = _codes(spec, where, key, seen, problem)
    return JurisdictionRule(
        key, authority.strip(), hours["authority_hours"], hours["subject_hours"], codes
    )


def _read(raw: Any) -> tuple[IncidentRules, list[str]]:
    """The rules of the section ``raw`` (the whole datamap mapping) and every problem."""
    found: list[str] = []
    section = raw.get(SECTION) if isinstance(raw, dict) else None
    if section is None:
        return IncidentRules(), found

    def problem(mapping: Any, key: Any, message: str) -> None:
        found.append(located(_FILE, line_of(mapping, key)) + message)

    if not isinstance(section, dict):
        problem(raw, SECTION, "'incidents' must be a mapping")
        return IncidentRules(), found
    listed = section.get("jurisdictions")
    if not isinstance(listed, dict) or not listed:
        inside = "jurisdictions" in section
        problem(
            section if inside else raw,
            "jurisdictions" if inside else SECTION,
            "incidents.jurisdictions must map at least one jurisdiction to its rule",
        )
        return IncidentRules(), found
    seen: dict[str, str] = {}
    rules = {
        rule.key: rule
        for rule in (_rule(listed, key, seen, problem) for key in listed)
        if rule is not None
    }
    home = section.get("home")
    if home is not None and home not in rules:
        problem(section, "home", f"incidents home {home!r} is not one of its jurisdictions")
    if not rules:
        return IncidentRules(), found
    return IncidentRules(str(home if home in rules else next(iter(rules))), rules), found


def problems(raw: Any) -> list[str]:
    """Every problem of the ``incidents:`` section of ``raw`` as ``datamap.yaml:LINE: …``."""
    return _read(raw)[1]


def incident_rules(raw: Any) -> IncidentRules:
    """The section's rules; the first problem raises :class:`ConfigurationError` with its line."""
    rules, found = _read(raw)
    if found:
        where, _, _rest = found[0].partition(": ")
        raise ConfigurationError(f"policy pack: {found[0]}", location=where, problems=found)
    return rules
