"""The consent terms of a policy pack: ``consent.yaml`` beside ``datamap.yaml``.

It says which purposes rest on consent (and which of those are optional
functions of the app with a manual alternative), and what receipts name: policy
version and address, jurisdiction, language.  :func:`load_terms` validates the
file against the pack's purposes and the fideslang taxonomy and raises
:class:`ConfigurationError` naming the offending key, so a bad file stops
start-up.  A pack without ``consent.yaml`` has no consent-based purposes.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import yaml

from doorstep.core.errors import ConfigurationError
from doorstep.privacy.datamap.pack import PolicyPack
from doorstep.privacy.datamap.taxonomy import data_categories

TERMS_FILE = "consent.yaml"


@dataclass(frozen=True, slots=True)
class PolicyReference:
    """The policy consents are given under, as receipts name it."""

    version: str
    url: str
    jurisdiction: str
    language: str = "en"


@dataclass(frozen=True, slots=True)
class ConsentPurpose:
    """A purpose whose legal basis is consent.

    ``optional`` marks an optional function (off until consented); ``manual_path``
    tells the subscriber how to do the same without it.  ``categories`` are the
    data categories the function uses.
    """

    key: str
    function: str
    optional: bool
    manual_path: str
    categories: tuple[str, ...]
    clauses: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class ConsentTerms:
    """The parsed ``consent.yaml`` of one pack (``policy`` is None when absent)."""

    policy: PolicyReference | None
    purposes: dict[str, ConsentPurpose]

    @property
    def consent_purposes(self) -> frozenset[str]:
        """Keys of every consent-based purpose."""
        return frozenset(self.purposes)

    @property
    def optional_functions(self) -> tuple[ConsentPurpose, ...]:
        """The optional functions, in file order."""
        return tuple(item for item in self.purposes.values() if item.optional)

    def require_policy(self) -> PolicyReference:
        """The policy reference, or :class:`ConfigurationError` when the pack has none."""
        if self.policy is None:
            raise ConfigurationError(
                f"policy pack: {TERMS_FILE} has no 'policy' section (version, url, jurisdiction)"
            )
        return self.policy


def _text(value: Any, where: str, *, required: bool = False) -> str:
    if value is None or (isinstance(value, str) and not value.strip()):
        if required:
            raise ConfigurationError(f"policy pack: {TERMS_FILE}: {where} is required")
        return ""
    if not isinstance(value, str | int | float):
        raise ConfigurationError(f"policy pack: {TERMS_FILE}: {where} must be text")
    return str(value).strip()


def _strings(value: Any, where: str) -> tuple[str, ...]:
    if value is None:
        return ()
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise ConfigurationError(f"policy pack: {TERMS_FILE}: {where} must be a list of strings")
    return tuple(value)


def _policy(spec: Any) -> PolicyReference | None:
    if spec is None:
        return None
    if not isinstance(spec, dict):
        raise ConfigurationError(f"policy pack: {TERMS_FILE}: 'policy' must be a mapping")
    return PolicyReference(
        version=_text(spec.get("version"), "policy.version", required=True),
        url=_text(spec.get("url"), "policy.url", required=True),
        jurisdiction=_text(spec.get("jurisdiction"), "policy.jurisdiction", required=True),
        language=_text(spec.get("language"), "policy.language") or "en",
    )


def _purpose(key: str, spec: Any, pack: PolicyPack) -> ConsentPurpose:
    where = f"purpose {key!r}"
    if key not in pack.purposes:
        raise ConfigurationError(
            f"policy pack: {TERMS_FILE} names unknown purpose {key!r} (not in datamap.yaml)"
        )
    if spec is None:
        spec = {}
    if not isinstance(spec, dict):
        raise ConfigurationError(f"policy pack: {TERMS_FILE}: {where} must be a mapping")
    optional = spec.get("optional", False)
    if not isinstance(optional, bool):
        raise ConfigurationError(f"policy pack: {TERMS_FILE}: {where} optional must be true/false")
    manual_path = _text(spec.get("manual_path"), f"{where} manual_path", required=optional)
    categories = _strings(spec.get("categories"), f"{where} categories")
    for category in categories:
        if category not in data_categories():
            raise ConfigurationError(
                f"policy pack: {TERMS_FILE}: {where} has unknown data category {category!r}"
            )
    return ConsentPurpose(
        key=key,
        function=_text(spec.get("function"), f"{where} function") or pack.purposes[key].description,
        optional=optional,
        manual_path=manual_path,
        categories=categories,
        clauses=_strings(spec.get("clauses"), f"{where} clauses"),
    )


def load_terms(pack: PolicyPack) -> ConsentTerms:
    """Read and validate ``consent.yaml`` of ``pack`` (empty terms when the file is absent)."""
    source = Path(pack.path) / TERMS_FILE
    try:
        raw = yaml.safe_load(source.read_text(encoding="utf-8")) or {}
    except FileNotFoundError:
        return ConsentTerms(policy=None, purposes={})
    except yaml.YAMLError as exc:
        raise ConfigurationError(f"policy pack: {source} is not valid YAML ({exc})") from None
    if not isinstance(raw, dict):
        raise ConfigurationError(f"policy pack: {source} must hold a mapping")
    purposes_spec = raw.get("purposes") or {}
    if not isinstance(purposes_spec, dict):
        raise ConfigurationError(f"policy pack: {TERMS_FILE}: 'purposes' must be a mapping")
    purposes = {str(key): _purpose(str(key), spec, pack) for key, spec in purposes_spec.items()}
    return ConsentTerms(policy=_policy(raw.get("policy")), purposes=purposes)


@cache
def default_terms() -> ConsentTerms:
    """The consent terms of the pack shipped with Doorstep, loaded once."""
    from doorstep.privacy.datamap.pack import default_pack

    return load_terms(default_pack())
