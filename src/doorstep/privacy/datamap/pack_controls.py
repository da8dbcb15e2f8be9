"""The pack's ``controls:`` section: the controls register's intervals and the notice's claims.

The section is optional; without it every interval is twelve months, no claim
is checked and overdue alerts go to the audit trail only::

    controls:
      desk: privacy@example.org        # optional: overdue alerts are e-mailed here
      intervals:                        # whole months between two tests, reviews …
        continuity_plan: 12
        security_policy_review: 12
        third_party_audit: 12
        security_impact_assessment: 12
      claims:                           # what the privacy notice claims, and its evidence
        certification:
          text: ZTE Corporation and some subsidiaries have passed the ISO 27001 …
          evidence: [certificate]       # control kinds that must be current
          clauses: [CPE-IV.2.d]

A certificate has no interval: it lapses at its expiry.  A claim whose evidence
has lapsed is flagged as ``<claim>_claim_unsupported`` (CPE-IV.2.b-d) by
:mod:`doorstep.privacy.controls`, which holds the register itself; this module
only reads and validates the pack (:func:`read_controls`, raising
:class:`ConfigurationError` at the offending key's line, and
:func:`unknown_claim_clauses`, every clause id a claim cites that the pack lacks).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from types import MappingProxyType
from typing import Any

from doorstep.core.errors import ConfigurationError
from doorstep.privacy.datamap.pack_lines import at, line_of, located
from doorstep.privacy.datamap.pack_lines import entry as _entry
from doorstep.privacy.datamap.pack_lines import strings as _strings
from doorstep.privacy.datamap.pack_lines import text as _text

SECTION = "controls"
#: The file the section is in (errors name it with the line).
SECTION_FILE = "datamap.yaml"
#: Months between two pieces of evidence when the pack says nothing (CPE-IV.2.b, c).
DEFAULT_INTERVAL_MONTHS = 12
#: The longest interval a pack may set (ten years).
MAX_INTERVAL_MONTHS = 120
_KEY = re.compile(r"^[a-z][a-z0-9_]{0,62}$")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


class ControlKind(StrEnum):
    """The kinds of control the register holds."""

    #: A business-continuity plan and the date it was last tested (CPE-IV.2.b).
    CONTINUITY_PLAN = "continuity_plan"
    #: The security policy and the date it was last reviewed (CPE-IV.2.c).
    SECURITY_POLICY_REVIEW = "security_policy_review"
    #: A third-party security audit: auditor, date, scope, next due (CPE-IV.2.c).
    THIRD_PARTY_AUDIT = "third_party_audit"
    #: A certificate such as ISO 27001: scope, issuer, valid until (CPE-IV.2.d).
    CERTIFICATE = "certificate"
    #: Versioned security impact assessments with a publication state (CPE-IV.5).
    SECURITY_IMPACT_ASSESSMENT = "security_impact_assessment"


#: Kinds whose evidence is due again an interval after the last one (certificates expire).
INTERVAL_KINDS = tuple(kind for kind in ControlKind if kind is not ControlKind.CERTIFICATE)


@dataclass(frozen=True, slots=True)
class Claim:
    """A security claim of the privacy notice and the control kinds that evidence it."""

    key: str
    text: str
    kinds: tuple[ControlKind, ...]
    clauses: tuple[str, ...] = ()

    @property
    def code(self) -> str:
        """The flag raised when its evidence has lapsed: ``<key>_claim_unsupported``."""
        return f"{self.key}_claim_unsupported"


def _default_intervals() -> Mapping[ControlKind, int]:
    return MappingProxyType(dict.fromkeys(INTERVAL_KINDS, DEFAULT_INTERVAL_MONTHS))


@dataclass(frozen=True, slots=True)
class ControlsPolicy:
    """What the pack says about the controls register (the defaults when it says nothing)."""

    intervals: Mapping[ControlKind, int] = field(default_factory=_default_intervals)
    claims: Mapping[str, Claim] = field(default_factory=dict)
    #: Where overdue alerts are e-mailed (the privacy desk); empty: the audit trail only.
    desk: str = ""

    def interval(self, kind: ControlKind) -> int | None:
        """Months between two pieces of evidence of ``kind``; None for certificates."""
        return self.intervals.get(kind)


def _kind(value: Any, where: str) -> ControlKind:
    try:
        return ControlKind(str(value))
    except ValueError:
        known = ", ".join(kind.value for kind in ControlKind)
        raise ConfigurationError(
            f"policy pack: {where} names unknown control kind {value!r} (known: {known})"
        ) from None


def _intervals(section: dict[str, Any]) -> Mapping[ControlKind, int]:
    found = dict(_default_intervals())
    raw = section.get("intervals")
    with at(SECTION_FILE, section, "intervals"):
        spec = _entry(raw, "controls.intervals")
    for key, value in spec.items():
        with at(SECTION_FILE, spec, key):
            kind = _kind(key, "controls.intervals")
            if kind not in INTERVAL_KINDS:
                raise ConfigurationError(
                    f"policy pack: controls.intervals: a {kind.value} has no interval "
                    "(it lapses at its expiry)"
                )
            if (
                isinstance(value, bool)
                or not isinstance(value, int)
                or not 1 <= value <= MAX_INTERVAL_MONTHS
            ):
                raise ConfigurationError(
                    f"policy pack: controls.intervals.{kind.value} must be a whole number of "
                    f"months from 1 to {MAX_INTERVAL_MONTHS}"
                )
            found[kind] = value
    return MappingProxyType(found)


def _claims(section: dict[str, Any]) -> dict[str, Claim]:
    claims: dict[str, Claim] = {}
    with at(SECTION_FILE, section, "claims"):
        spec = _entry(section.get("claims"), "controls.claims")
    for key, value in spec.items():
        with at(SECTION_FILE, spec, key):
            if not isinstance(key, str) or not _KEY.match(key):
                raise ConfigurationError(
                    f"policy pack: claim {key!r} must be a lowercase name of [a-z0-9_]"
                )
            item = _entry(value, f"claim {key!r}")
            text = _text(item.get("text"), f"claim {key!r} text")
            if not text:
                raise ConfigurationError(f"policy pack: claim {key!r} has no text")
            with at(SECTION_FILE, item, "evidence"):
                names = _strings(item.get("evidence"), f"claim {key!r} evidence")
                if not names:
                    raise ConfigurationError(
                        f"policy pack: claim {key!r} names no control kind as its evidence"
                    )
                kinds = tuple(_kind(name, f"claim {key!r} evidence") for name in names)
            with at(SECTION_FILE, item, "clauses"):
                clauses = _strings(item.get("clauses"), f"claim {key!r} clauses")
            claims[key] = Claim(key, text, kinds, clauses)
    return claims


def read_controls(raw: dict[str, Any], citable: frozenset[str]) -> tuple[ControlsPolicy, list[str]]:
    """The ``controls:`` section of a parsed ``datamap.yaml`` (the defaults without one),
    and each clause id a claim cites that ``citable`` lacks (:func:`unknown_claim_clauses`).

    Raises :class:`ConfigurationError` naming the key and its line
    (``policy pack: datamap.yaml:42: …``) for a value of the wrong shape, an
    unknown control kind, an interval out of range or a desk that is no address;
    an empty ``citable`` checks no clause id (a pack without a catalogue).
    """
    policy = _read(raw)
    return policy, unknown_claim_clauses(raw, policy, citable)


def _read(raw: dict[str, Any]) -> ControlsPolicy:
    if raw.get(SECTION) is None:
        return ControlsPolicy()
    with at(SECTION_FILE, raw, SECTION):
        section = _entry(raw.get(SECTION), SECTION)
    intervals = _intervals(section)
    claims = _claims(section)
    with at(SECTION_FILE, section, "desk"):
        desk = _text(section.get("desk"), "controls.desk")
        if desk and not _EMAIL.match(desk):
            raise ConfigurationError("policy pack: controls.desk must be an e-mail address")
    return ControlsPolicy(intervals=intervals, claims=claims, desk=desk)


def unknown_claim_clauses(
    raw: dict[str, Any], policy: ControlsPolicy, known: frozenset[str]
) -> list[str]:
    """``datamap.yaml:LINE: claim 'k' cites unknown clause 'X'`` for each such citation.

    ``known`` is every id a claim may cite (the pack's own and those its clauses
    map to); an empty set checks nothing (a pack without a catalogue).
    """
    if not known:
        return []
    claims = raw.get(SECTION, {}).get("claims") if isinstance(raw.get(SECTION), dict) else None
    return [
        located(SECTION_FILE, line_of((claims or {}).get(key), "clauses") or line_of(claims, key))
        + f"claim {key!r} cites unknown clause {clause!r}"
        for key, claim in policy.claims.items()
        for clause in claim.clauses
        if clause not in known
    ]
