"""What one version of the policy says, as plain data: the part two versions are compared on.

:func:`facts_of` reads them from a pack (its data map, consent terms and the
optional ``policy.yaml``); :class:`PolicyFacts` goes to and from JSON, so a
stored version keeps them (``policy_versions.facts``) and the purpose gate can
ask an old version which purposes it allowed.

``policy.yaml`` (optional, beside ``datamap.yaml``) holds what the data map does
not: the subscriber's ``rights`` (key -> how to exercise it), the ``complaints``
channel, the ``impact_assessment`` risk (``low``, ``medium``, ``high``) and what
a refusal of a new version leads to (``on_refusal``: ``keep_previous`` or
``offer_deregistration``).  :func:`read_policy_file` refuses a malformed file
with the key at fault.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import yaml

from doorstep.core.errors import ConfigurationError
from doorstep.privacy.consent.terms import ConsentTerms
from doorstep.privacy.datamap.pack import PolicyPack

#: The pack file this module reads besides the data map and the consent terms.
POLICY_FILE = "policy.yaml"
RISKS = ("low", "medium", "high")
KEEP_PREVIOUS = "keep_previous"
OFFER_DEREGISTRATION = "offer_deregistration"
ON_REFUSAL = (KEEP_PREVIOUS, OFFER_DEREGISTRATION)


@dataclass(frozen=True, slots=True)
class PolicyFile:
    """The parsed ``policy.yaml`` (every field empty or default when the file is absent)."""

    rights: dict[str, str] = field(default_factory=dict)
    complaints: str = ""
    impact_assessment: str = "low"
    on_refusal: str = KEEP_PREVIOUS


@dataclass(frozen=True, slots=True)
class PolicyFacts:
    """The comparable content of one version (every value a string or a mapping of strings).

    ``purposes``: key -> data use; ``consent``: consent-based purpose -> its data
    categories (comma-separated); ``retention``: rule -> period in seconds (as
    text) after its trigger; ``recipients`` and ``regions``: key -> country and
    transfer safeguard; ``controller`` and ``contact``: name, e-mail, address (the
    DPO and the complaint channel for ``contact``).
    """

    purposes: dict[str, str]
    consent: dict[str, str]
    retention: dict[str, str]
    recipients: dict[str, str]
    regions: dict[str, str]
    controller: dict[str, str]
    contact: dict[str, str]
    rights: dict[str, str]
    impact_assessment: str = "low"
    on_refusal: str = KEEP_PREVIOUS

    def to_json(self) -> dict[str, Any]:
        """The facts as a JSON object (what ``policy_versions.facts`` stores)."""
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> PolicyFacts:
        """The facts stored by :meth:`to_json` (unknown keys ignored, missing ones empty)."""
        return cls(
            **{
                name: data.get(name, {})
                for name in (
                    "purposes",
                    "consent",
                    "retention",
                    "recipients",
                    "regions",
                    "controller",
                    "contact",
                    "rights",
                )
            },
            impact_assessment=str(data.get("impact_assessment", "low")),
            on_refusal=str(data.get("on_refusal", KEEP_PREVIOUS)),
        )


def _fail(message: str) -> ConfigurationError:
    return ConfigurationError(f"policy pack: {POLICY_FILE}: {message}")


def read_policy_file(path: Path) -> PolicyFile:
    """Read ``path/policy.yaml`` (defaults when absent); ConfigurationError names the key."""
    source = path / POLICY_FILE
    try:
        raw = yaml.safe_load(source.read_text(encoding="utf-8")) or {}
    except FileNotFoundError:
        return PolicyFile()
    except yaml.YAMLError as exc:
        raise _fail(f"not valid YAML ({exc})") from None
    if not isinstance(raw, dict):
        raise _fail("must hold a mapping")
    rights = raw.get("rights") or {}
    if not isinstance(rights, dict) or not all(
        isinstance(key, str) and isinstance(value, str) and value.strip()
        for key, value in rights.items()
    ):
        raise _fail("'rights' must map each right to how it is exercised (text)")
    complaints = raw.get("complaints") or ""
    if not isinstance(complaints, str):
        raise _fail("'complaints' must be text")
    risk = str(raw.get("impact_assessment") or "low")
    if risk not in RISKS:
        raise _fail(f"'impact_assessment' must be one of {', '.join(RISKS)}")
    on_refusal = str(raw.get("on_refusal") or KEEP_PREVIOUS)
    if on_refusal not in ON_REFUSAL:
        raise _fail(f"'on_refusal' must be one of {', '.join(ON_REFUSAL)}")
    return PolicyFile(
        rights={key: " ".join(value.split()) for key, value in rights.items()},
        complaints=" ".join(complaints.split()),
        impact_assessment=risk,
        on_refusal=on_refusal,
    )


def facts_of(pack: PolicyPack, terms: ConsentTerms) -> PolicyFacts:
    """The facts of ``pack`` and its consent terms (reads ``policy.yaml`` of the pack's folder)."""
    extra = read_policy_file(Path(pack.path))
    controller = pack.controller
    dpo = controller.dpo if controller is not None else None
    contact = {
        "dpo": "" if dpo is None else f"{dpo.name} <{dpo.email}> {dpo.address}".strip(),
        "complaints": extra.complaints,
    }
    return PolicyFacts(
        purposes={key: item.data_use for key, item in sorted(pack.purposes.items())},
        consent={
            key: ", ".join(sorted(item.categories)) for key, item in sorted(terms.purposes.items())
        },
        retention={
            key: str(int(rule.period.total_seconds()))
            for key, rule in sorted(pack.retention.items())
            if rule.trigger.value != "not_stored"
        },
        recipients={
            key: f"{item.country} {item.transfer}".strip()
            for key, item in sorted(pack.recipient_details.items())
        },
        regions={
            key: f"{item.country} {item.transfer}".strip()
            for key, item in sorted(pack.region_details.items())
        },
        controller={}
        if controller is None
        else {"name": controller.name, "email": controller.email, "address": controller.address},
        contact={key: value for key, value in contact.items() if value},
        rights=dict(sorted(extra.rights.items())),
        impact_assessment=extra.impact_assessment,
        on_refusal=extra.on_refusal,
    )
