"""The pack's word on where data lives and what a transfer needs (``transfers:``, decision 0031).

The section of ``datamap.yaml``::

    transfers:
      home: CN                 # the country of collection when a subject has none recorded
      adequacy: [DE, FR]       # destinations found adequate: no contract needed
      deidentify: without_consent   # always | without_consent | never

``home`` defaults to the ``primary`` region's ``country``; a pack that names
neither cannot run the transfer gate (start-up refuses it once the gate is used).
Each region's country is read from ``regions:`` (a region without one is in
``home``).  A region in another country must carry ``transfer:`` (its safeguard):
:func:`read_transfer_policy` refuses a foreign region without one, naming the line
(CPE-IV.1.d, CORP-5.6).  ``deidentify`` says when a payload is de-identified
before it leaves (CPE-VIII.3): ``without_consent`` (the default, and the stricter
reading of the reference policy) unless the subject consented to the transfer.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from types import MappingProxyType
from typing import Any

from doorstep.core.errors import ConfigurationError
from doorstep.core.memo import by_identity
from doorstep.privacy.datamap.pack import DATAMAP_FILE, PolicyPack
from doorstep.privacy.datamap.pack_lines import at, load_yaml
from doorstep.privacy.datamap.pack_lines import entry as _entry
from doorstep.privacy.datamap.pack_lines import strings as _strings
from doorstep.privacy.datamap.pack_lines import text as _text

SECTION = "transfers"
_COUNTRY = re.compile(r"^[A-Z]{2}$")


class Deidentify(StrEnum):
    """When a cross-border payload is de-identified before it leaves."""

    ALWAYS = "always"
    WITHOUT_CONSENT = "without_consent"
    NEVER = "never"


@dataclass(frozen=True, slots=True)
class TransferPolicy:
    """Where the operator collects data, where each region is, and what a transfer needs.

    ``regions`` maps every region key of the pack to its country; ``safeguards``
    maps the foreign ones to the safeguard the pack names for them.
    """

    home: str
    regions: Mapping[str, str] = field(default_factory=dict)
    adequacy: frozenset[str] = frozenset()
    deidentify: Deidentify = Deidentify.WITHOUT_CONSENT
    safeguards: Mapping[str, str] = field(default_factory=dict)

    def country_of(self, region: str) -> str:
        """The country of ``region``; ConfigurationError for a region the pack lacks."""
        try:
            return self.regions[region]
        except KeyError:
            raise ConfigurationError(f"policy pack: unknown region {region!r}") from None

    def needs_deidentification(self, *, consented: bool) -> bool:
        """Whether a payload sent abroad on this ground is de-identified first."""
        if self.deidentify is Deidentify.ALWAYS:
            return True
        return self.deidentify is Deidentify.WITHOUT_CONSENT and not consented


def _country(value: Any, where: str) -> str:
    country = _text(value, where).upper()
    if not _COUNTRY.fullmatch(country):
        raise ConfigurationError(f"policy pack: {where} must be an ISO 3166-1 alpha-2 country code")
    return country


def read_transfer_policy(pack: PolicyPack) -> TransferPolicy:
    """Read ``transfers:`` of ``pack`` (and its regions); any problem raises with its line."""
    raw = load_yaml(pack.path / DATAMAP_FILE) or {}
    with at(DATAMAP_FILE, raw, SECTION):
        spec = _entry(raw.get(SECTION), SECTION)
    primary = pack.region_details.get("primary")
    with at(DATAMAP_FILE, spec, "home"):
        if spec.get("home") is not None:
            home = _country(spec.get("home"), "transfers.home")
        elif primary is not None and primary.country:
            home = _country(primary.country, "regions.primary.country")
        else:
            raise ConfigurationError(
                "policy pack: transfers.home is missing and regions.primary names no country"
            )
    with at(DATAMAP_FILE, spec, "adequacy"):
        adequacy = frozenset(
            _country(item, "transfers.adequacy")
            for item in _strings(spec.get("adequacy"), "transfers.adequacy")
        )
    with at(DATAMAP_FILE, spec, "deidentify"):
        try:
            deidentify = Deidentify(str(spec.get("deidentify", Deidentify.WITHOUT_CONSENT)))
        except ValueError:
            raise ConfigurationError(
                "policy pack: transfers.deidentify must be always, without_consent or never"
            ) from None
    regions: dict[str, str] = {}
    safeguards: dict[str, str] = {}
    section = raw.get("regions") or {}
    for key, region in pack.region_details.items():
        with at(DATAMAP_FILE, section, key):
            country = _country(region.country, f"regions.{key}.country") if region.country else home
            if country != home and not region.transfer:
                raise ConfigurationError(
                    f"policy pack: region {key!r} is in {country}, outside the country of "
                    f"collection {home}, and names no transfer: safeguard"
                )
        regions[key] = country
        if country != home:
            safeguards[key] = region.transfer
    return TransferPolicy(
        home=home,
        regions=MappingProxyType(regions),
        adequacy=adequacy,
        deidentify=deidentify,
        safeguards=MappingProxyType(safeguards),
    )


@by_identity
def transfer_policy(pack: PolicyPack) -> TransferPolicy:
    """:func:`read_transfer_policy`, once per pack object."""
    return read_transfer_policy(pack)
