"""The pack's ``diagnostics:`` section: which diagnostic results are stored (decision 0041).

A subscriber (or support, on a ticket or with the subscriber's consent) runs a
diagnostic on a device: ping, trace route, download or upload speed test.  The pack
says, per kind, whether its result is stored, and under which retention rule::

    diagnostics:
      ping:       {store: true, retention: diagnostic_result}
      traceroute: {store: false}          # relayed to the waiting caller only
      download:   {store: true, retention: diagnostic_result}
      upload:     {store: true, retention: diagnostic_result}

* ``store: false`` (and a kind the section leaves out): the result goes to the caller
  waiting for it and nowhere else; the run keeps its state and times only.
* ``store: true`` needs ``retention:``, a rule of the pack's ``retention:`` whose
  trigger is ``created`` (a result's age is counted from the run: nothing else ends it).
  Doorstep's results column declares one rule (``diagnostic_result``): a run of a kind
  the pack keeps under another rule is refused before anything is stored
  (:mod:`doorstep.devices.fleet.diagnostics`), since the sweep would not see it.

:func:`read_diagnostics` raises :class:`ConfigurationError` at the offending key's line.
A pack without the section stores no diagnostic result.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from doorstep.core.errors import ConfigurationError
from doorstep.privacy.datamap.pack_lines import at

SECTION = "diagnostics"
SECTION_FILE = "datamap.yaml"
#: The diagnostics Doorstep runs (``Device.IP.Diagnostics.``), by the names packs use.
KINDS = ("ping", "traceroute", "download", "upload")
#: The trigger a stored result's rule must have.
TRIGGER = "created"


@dataclass(frozen=True, slots=True)
class DiagnosticsPolicy:
    """Per kind, the retention rule its stored results live under (absent: not stored)."""

    retention: Mapping[str, str] = field(default_factory=dict)

    def stores(self, kind: str) -> bool:
        """Whether results of ``kind`` are stored (else relayed to the caller only)."""
        return kind in self.retention

    def rule(self, kind: str) -> str | None:
        """The retention rule of ``kind``'s stored results, or None when not stored."""
        return self.retention.get(kind)


def read_diagnostics(raw: Mapping[str, Any], retention: Mapping[str, object]) -> DiagnosticsPolicy:
    """The ``diagnostics:`` section of ``raw``, validated (see the module docstring)."""
    section = raw.get(SECTION)
    if section is None:
        return DiagnosticsPolicy()
    if not isinstance(section, dict):
        with at(SECTION_FILE, raw, SECTION):
            raise ConfigurationError(f"policy pack: '{SECTION}' must be a mapping of kinds")
    kept: dict[str, str] = {}
    for kind, spec in section.items():
        with at(SECTION_FILE, section, kind):
            if kind not in KINDS:
                raise ConfigurationError(
                    f"policy pack: {SECTION} names unknown kind {kind!r} "
                    f"(one of {', '.join(KINDS)})"
                )
            if not isinstance(spec, dict) or set(spec) - {"store", "retention"}:
                raise ConfigurationError(
                    f"policy pack: {SECTION}.{kind} must be a mapping of store and retention"
                )
            store = spec.get("store")
            if not isinstance(store, bool):
                raise ConfigurationError(
                    f"policy pack: {SECTION}.{kind}.store must be true or false"
                )
            rule = spec.get("retention")
            if not store:
                if rule is not None:
                    raise ConfigurationError(
                        f"policy pack: {SECTION}.{kind}: a result that is not stored has no "
                        "retention rule"
                    )
                continue
            kept[str(kind)] = _rule(kind, rule, retention)
    return DiagnosticsPolicy(MappingProxyType(kept))


def _rule(kind: str, rule: object, retention: Mapping[str, object]) -> str:
    if not isinstance(rule, str) or rule not in retention:
        raise ConfigurationError(
            f"policy pack: {SECTION}.{kind}.retention must name a rule of the pack's retention"
        )
    trigger = getattr(getattr(retention[rule], "trigger", None), "value", None)
    if trigger != TRIGGER:
        raise ConfigurationError(
            f"policy pack: {SECTION}.{kind}.retention: rule {rule!r} must count from "
            f"'{TRIGGER}' (the run)"
        )
    return rule
