"""The pack's ``deidentification:`` section: what each destination of logs may receive.

The section is optional; without it no profile exists and a caller that needs
one fails.  Each profile names the identifier kinds replaced by keyed pseudonyms;
every other kind is dropped (:mod:`doorstep.privacy.deidentify`)::

    deidentification:
      diagnostic_logs:                   # the profile's key
        description: Device and Doorstep logs sent to research or analytics.
        pseudonymise: [serial_number, mac, email, phone, account_id, device_id]
        patterns:                        # optional: more patterns of a kind
          serial_number: ['\\bZTEG[0-9A-F]{8}\\b']
        clauses: [CPE-IV.2.a, CORP-7.2]

Every pattern is compiled when the pack is read, so a pattern that does not
compile stops start-up (and ``doorstep pack check``) at its line, never a
transfer half-way.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

from doorstep.core.errors import ConfigurationError
from doorstep.privacy.datamap.pack_lines import at
from doorstep.privacy.datamap.pack_lines import entry as _entry
from doorstep.privacy.datamap.pack_lines import strings as _strings
from doorstep.privacy.datamap.pack_lines import text as _text
from doorstep.privacy.deidentify import Kind, PatternError, Profile
from doorstep.privacy.deidentify.scanner import compile_database

DATAMAP_FILE = "datamap.yaml"
SECTION = "deidentification"


def _kinds(values: tuple[str, ...], where: str) -> frozenset[Kind]:
    known = {kind.value for kind in Kind}
    for value in values:
        if value not in known:
            names = ", ".join(sorted(known))
            raise ConfigurationError(
                f"policy pack: {where} names unknown kind {value!r} (known: {names})"
            )
    return frozenset(Kind(value) for value in values)


def _profile(key: str, spec: Any) -> Profile:
    where = f"{SECTION}.{key}"
    body = _entry(spec, where)
    allowed = {"description", "pseudonymise", "patterns", "clauses"}
    extra = sorted(set(body) - allowed)
    if extra:
        raise ConfigurationError(f"policy pack: {where} has unknown key {extra[0]!r}")
    with at(DATAMAP_FILE, body, "pseudonymise"):
        keep = _kinds(_strings(body.get("pseudonymise"), f"{where}.pseudonymise"), where)
    patterns: dict[Kind, tuple[str, ...]] = {}
    raw_patterns = _entry(body.get("patterns"), f"{where}.patterns")
    for name, values in raw_patterns.items():
        with at(DATAMAP_FILE, raw_patterns, name):
            (kind,) = _kinds((str(name),), f"{where}.patterns")
            patterns[kind] = _strings(values, f"{where}.patterns.{name}")
    profile = Profile(
        name=key,
        pseudonymise=keep,
        extra_patterns=MappingProxyType(patterns),
        description=_text(body.get("description"), f"{where}.description"),
        clauses=_strings(body.get("clauses"), f"{where}.clauses"),
    )
    with at(DATAMAP_FILE, body, "patterns"):
        try:
            compile_database(profile)
        except PatternError as exc:
            raise ConfigurationError(f"policy pack: {where}: {exc.detail}") from None
    return profile


def read_deidentification(raw: Mapping[str, Any]) -> Mapping[str, Profile]:
    """The profiles of the section, by key; :class:`ConfigurationError` at the offending line."""
    section = _entry(raw.get(SECTION), SECTION)
    profiles = {}
    for key, spec in section.items():
        with at(DATAMAP_FILE, section, key):
            profiles[str(key)] = _profile(str(key), spec)
    return MappingProxyType(profiles)
