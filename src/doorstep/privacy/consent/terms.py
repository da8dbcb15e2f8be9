"""The consent terms of a policy pack: ``consent.yaml`` beside ``datamap.yaml``.

It says which purposes rest on consent (and which of those are optional
functions of the app with a manual alternative), and what receipts name: policy
version and address, jurisdiction, language.  A term's ``function`` and
``manual_path`` are English; ``translations: {de: {function, manual_path}}``
gives them in each further language of ``policy.languages`` (every declared
language is required, no other is accepted).  :func:`load_terms` validates the
file against the pack's purposes and the fideslang taxonomy and raises
:class:`ConfigurationError` naming the offending key, so a bad file stops
start-up.  A pack without ``consent.yaml`` has no consent-based purposes.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from doorstep.core.errors import ConfigurationError
from doorstep.privacy.datamap.pack import PolicyPack
from doorstep.privacy.datamap.taxonomy import data_categories

TERMS_FILE = "consent.yaml"
#: The language of a term's plain ``function`` and ``manual_path`` fields.
BASE_LANGUAGE = "en"
_LANGUAGE = re.compile(r"^[a-z]{2,3}(-[A-Z]{2})?$")


@dataclass(frozen=True, slots=True)
class PolicyReference:
    """The policy consents are given under, as receipts name it."""

    version: str
    url: str
    jurisdiction: str
    language: str = "en"
    #: Every language the pack's texts are written in; always includes English.
    languages: tuple[str, ...] = (BASE_LANGUAGE,)


@dataclass(frozen=True, slots=True)
class ConsentText:
    """A consent term's words in one language."""

    function: str
    manual_path: str = ""


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
    #: (language, text) for each language besides English, in file order.
    translations: tuple[tuple[str, ConsentText], ...] = ()

    def text(self, language: str) -> ConsentText:
        """The function and manual path in ``language``; English when it has no translation."""
        return dict(self.translations).get(language, ConsentText(self.function, self.manual_path))


@dataclass(frozen=True, slots=True)
class ConsentTerms:
    """The parsed ``consent.yaml`` of one pack (``policy`` is None when absent)."""

    policy: PolicyReference | None
    purposes: dict[str, ConsentPurpose]

    @property
    def languages(self) -> tuple[str, ...]:
        """The languages every term is written in (English when the pack declares none)."""
        return self.policy.languages if self.policy is not None else (BASE_LANGUAGE,)

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
        languages=_languages(spec.get("languages")),
    )


def _languages(value: Any) -> tuple[str, ...]:
    languages = _strings(value, "policy.languages") or (BASE_LANGUAGE,)
    bad = [item for item in languages if not _LANGUAGE.match(item)]
    if bad:
        raise ConfigurationError(
            f"policy pack: {TERMS_FILE}: policy.languages has {bad[0]!r}, not a language code"
        )
    if BASE_LANGUAGE not in languages:
        raise ConfigurationError(
            f"policy pack: {TERMS_FILE}: policy.languages must include {BASE_LANGUAGE!r} "
            "(the language of the plain function and manual_path)"
        )
    return languages


def _translations(
    value: Any, where: str, languages: tuple[str, ...], *, optional: bool
) -> tuple[tuple[str, ConsentText], ...]:
    """Each declared language's text of one term; refuses a missing or undeclared one."""
    value = {} if value is None else value
    if not isinstance(value, dict):
        raise ConfigurationError(
            f"policy pack: {TERMS_FILE}: {where} translations must be a mapping"
        )
    for language in value:
        if language not in languages or language == BASE_LANGUAGE:
            raise ConfigurationError(
                f"policy pack: {TERMS_FILE}: {where} has text in {language!r}, which is not "
                f"a further language of policy.languages ({', '.join(languages)})"
            )
    found: list[tuple[str, ConsentText]] = []
    for language in (item for item in languages if item != BASE_LANGUAGE):
        spec = value.get(language)
        at = f"{where} translations.{language}"
        if not isinstance(spec, dict):
            raise ConfigurationError(
                f"policy pack: {TERMS_FILE}: {where} has no text in {language!r} "
                f"({at} with function{' and manual_path' if optional else ''})"
            )
        found.append(
            (
                language,
                ConsentText(
                    _text(spec.get("function"), f"{at}.function", required=True),
                    _text(spec.get("manual_path"), f"{at}.manual_path", required=optional),
                ),
            )
        )
    return tuple(found)


def _purpose(key: str, spec: Any, pack: PolicyPack, languages: tuple[str, ...]) -> ConsentPurpose:
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
        translations=_translations(spec.get("translations"), where, languages, optional=optional),
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
    policy = _policy(raw.get("policy"))
    languages = policy.languages if policy is not None else (BASE_LANGUAGE,)
    purposes = {
        str(key): _purpose(str(key), spec, pack, languages) for key, spec in purposes_spec.items()
    }
    return ConsentTerms(policy=policy, purposes=purposes)
