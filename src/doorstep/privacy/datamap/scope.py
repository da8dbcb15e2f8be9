"""Which policy applies to which service: the pack's ``scope:`` section (CPE-0.1, CORP-0.2).

A pack may hold more than one policy.  The reference pack holds the CPE product
policy, which "is applicable to ZTE's overseas CPE products/services, including
the routers, APPs, and services that display or mention this statement"
(CPE-0.1), and the corporate policy, which applies to "websites, products and
services that display or link to this Policy" (CORP-0.2) and gives way to a
product's own policy.  ``datamap.yaml`` declares it::

    scope:
      policies:            # in precedence order
        - key: CPE-V1.1
          name: CPE Product Privacy Policy V1.1
          text: cpe-privacy-policy.txt
          applies_to:      # a service matches a rule when each named attribute is listed
            - {line: [cpe], kind: [router, gateway, app, cloud], market: [overseas]}
        - key: CORP-2019
          ...
      services:            # the services the operator runs, by name
        app_api: {kind: app, line: cpe, market: overseas}

A service is described by the attributes :data:`ATTRIBUTES` (``kind``, ``line``,
``market``).  :func:`resolve` answers the first policy in precedence order with
a rule that matches, and every later matching policy as its fallbacks.  Every
pack that declares a scope must declare Doorstep's own services
(:data:`DOORSTEP_SERVICES`) and have each resolve to a policy;
:func:`read_scope` returns the problems with file and line for ``doorstep pack
check`` (and start-up, which refuses a pack with problems).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from doorstep.core.errors import ConfigurationError
from doorstep.privacy.datamap.pack_lines import PREFIX, line_of, load_yaml, located

#: The attributes that describe a service.
ATTRIBUTES = ("kind", "line", "market")
#: Doorstep's own services: the app API, the privacy center's pages, the device cloud (USP).
DOORSTEP_SERVICES = ("app_api", "privacy_center", "device_cloud")
_FILE = "datamap.yaml"

if TYPE_CHECKING:
    from sqlalchemy.orm import Session


@dataclass(frozen=True, slots=True)
class Rule:
    """Attribute -> accepted values; a service matches when every named attribute is accepted."""

    accepts: tuple[tuple[str, frozenset[str]], ...]

    def matches(self, service: Mapping[str, str]) -> bool:
        """Whether ``service`` has an accepted value for every attribute the rule names."""
        return all(service.get(name) in values for name, values in self.accepts)


@dataclass(frozen=True, slots=True)
class ScopedPolicy:
    """One policy of the pack and the services it applies to."""

    key: str
    name: str
    text: str
    rules: tuple[Rule, ...]

    def applies_to(self, service: Mapping[str, str]) -> bool:
        """Whether any of the policy's rules matches ``service``."""
        return any(rule.matches(service) for rule in self.rules)


@dataclass(frozen=True, slots=True)
class Resolution:
    """The policy that applies to a service, and those it falls back to, in order."""

    service: str
    attributes: tuple[tuple[str, str], ...]
    policy: ScopedPolicy
    fallbacks: tuple[ScopedPolicy, ...]


@dataclass(frozen=True, slots=True)
class Scope:
    """The pack's policies in precedence order, and its named services."""

    policies: tuple[ScopedPolicy, ...]
    services: Mapping[str, Mapping[str, str]]

    def resolve(self, service: str | Mapping[str, str]) -> Resolution:
        """The policy for a declared service (by name) or a description (attribute -> value).

        Raises :class:`ConfigurationError` for an unknown service name or attribute
        and :class:`LookupError` when no policy applies.
        """
        if isinstance(service, str):
            if service not in self.services:
                known = ", ".join(sorted(self.services))
                raise ConfigurationError(f"unknown service {service!r}: the pack declares {known}")
            name, attributes = service, self.services[service]
        else:
            unknown = sorted(set(service) - set(ATTRIBUTES))
            if unknown:
                raise ConfigurationError(
                    f"unknown attribute {unknown[0]!r}: use {', '.join(ATTRIBUTES)}"
                )
            name, attributes = "", service
        matching = [policy for policy in self.policies if policy.applies_to(attributes)]
        if not matching:
            raise LookupError(f"no policy of the pack applies to {name or dict(attributes)}")
        return Resolution(name, tuple(sorted(attributes.items())), matching[0], tuple(matching[1:]))


def _values(value: Any) -> frozenset[str] | None:
    if isinstance(value, str):
        return frozenset({value})
    if isinstance(value, list) and value and all(isinstance(item, str) for item in value):
        return frozenset(value)
    return None


def _rule(spec: Any, where: str, problems: list[str]) -> Rule | None:
    if not isinstance(spec, dict):
        problems.append(located(_FILE, line_of(spec)) + f"{where} must be a mapping")
        return None
    accepts = []
    for name, value in spec.items():
        at = located(_FILE, line_of(spec, name))
        if name not in ATTRIBUTES:
            problems.append(at + f"{where} names unknown attribute {name!r}")
            continue
        values = _values(value)
        if values is None:
            problems.append(at + f"{where}.{name} must be a value or a list of values")
            continue
        accepts.append((str(name), values))
    return Rule(tuple(accepts))


def _policies(section: Any, path: Path, problems: list[str]) -> list[ScopedPolicy]:
    items = section.get("policies")
    if not isinstance(items, list) or not items:
        problems.append(
            located(_FILE, line_of(section, "policies") or line_of(section))
            + "scope.policies must be a non-empty list"
        )
        return []
    found: list[ScopedPolicy] = []
    for index, spec in enumerate(items):
        where = f"scope.policies[{index}]"
        at = located(_FILE, line_of(spec) or line_of(section, "policies"))
        if not isinstance(spec, dict):
            problems.append(at + f"{where} must be a mapping")
            continue
        key, name, text = (spec.get(field) for field in ("key", "name", "text"))
        if not isinstance(key, str) or not key.strip():
            problems.append(at + f"{where} has no key")
            continue
        if any(policy.key == key for policy in found):
            problems.append(located(_FILE, line_of(spec, "key")) + f"policy {key!r} twice")
        if not isinstance(name, str) or not name.strip():
            problems.append(at + f"policy {key!r} has no name")
        if not isinstance(text, str) or not (path / text).is_file():
            problems.append(
                located(_FILE, line_of(spec, "text") or line_of(spec))
                + f"policy {key!r}: text must name a file of the pack"
            )
        rules_spec = spec.get("applies_to")
        if not isinstance(rules_spec, list) or not rules_spec:
            problems.append(
                located(_FILE, line_of(spec, "applies_to") or line_of(spec))
                + f"policy {key!r}: applies_to must be a non-empty list of rules"
            )
            continue
        rules = [_rule(rule, f"policy {key!r} applies_to", problems) for rule in rules_spec]
        found.append(
            ScopedPolicy(key, str(name or key), str(text or ""), tuple(r for r in rules if r))
        )
    return found


def _services(section: Any, problems: list[str]) -> dict[str, dict[str, str]]:
    spec = section.get("services")
    if not isinstance(spec, dict):
        problems.append(
            located(_FILE, line_of(section, "services") or line_of(section))
            + "scope.services must map service names to their attributes"
        )
        return {}
    found: dict[str, dict[str, str]] = {}
    for name, attributes in spec.items():
        at = located(_FILE, line_of(spec, name))
        if not isinstance(attributes, dict) or not attributes:
            problems.append(at + f"service {name!r} must map attributes to values")
            continue
        values: dict[str, str] = {}
        for attribute, value in attributes.items():
            if attribute not in ATTRIBUTES:
                problems.append(at + f"service {name!r} names unknown attribute {attribute!r}")
            elif not isinstance(value, str):
                problems.append(at + f"service {name!r}: {attribute} must be one value")
            else:
                values[str(attribute)] = value
        found[str(name)] = values
    return found


def read_scope(path: Path) -> tuple[Scope | None, list[str]]:
    """The ``scope:`` of ``path/datamap.yaml`` (None when it declares none) and every problem
    of it, as ``datamap.yaml:LINE: message``."""
    try:
        raw = load_yaml(path / _FILE)
    except (FileNotFoundError, ConfigurationError):
        return None, []  # the pack's own loader reports these
    if not isinstance(raw, dict) or "scope" not in raw:
        return None, []
    section = raw["scope"]
    if not isinstance(section, dict):
        return None, [located(_FILE, line_of(raw, "scope")) + "scope must be a mapping"]
    problems: list[str] = []
    scope = Scope(tuple(_policies(section, path, problems)), _services(section, problems))
    services_line = line_of(section, "services") or line_of(raw, "scope")
    for name in DOORSTEP_SERVICES:
        if name not in scope.services:
            problems.append(
                located(_FILE, services_line)
                + f"scope.services must declare Doorstep's own service {name!r}"
            )
    for name in scope.services:
        try:
            scope.resolve(name)
        except (LookupError, ConfigurationError):
            problems.append(
                located(_FILE, line_of(section.get("services"), name))
                + f"no policy applies to service {name!r}"
            )
    return scope, problems


@cache
def _scope_at(path: Path) -> Scope | None:
    scope, problems = read_scope(path)
    if problems:
        raise ConfigurationError(PREFIX + "; ".join(problems), problems=problems)
    return scope


def scope_of(path: Path) -> Scope:
    """The valid scope of the pack in ``path``, read once; ConfigurationError when it has
    problems or declares none."""
    scope = _scope_at(path.resolve())
    if scope is None:
        raise ConfigurationError(f"{PREFIX}{_FILE}: the pack declares no scope")
    return scope


def parse_service(text: str) -> str | dict[str, str]:
    """A command-line service: a declared name, or ``kind=app,line=cpe,market=overseas``.

    ConfigurationError for a description that is not ``attribute=value`` pairs.
    """
    if "=" not in text:
        return text
    found: dict[str, str] = {}
    for part in text.split(","):
        name, sep, value = part.partition("=")
        if not sep or not name.strip() or not value.strip():
            raise ConfigurationError(f"describe a service as {'=…,'.join(ATTRIBUTES)}=…")
        found[name.strip()] = value.strip()
    return found


def record_resolution(session: Session, resolution: Resolution, *, actor: str) -> None:
    """Write ``policy.scope_resolved`` to the audit trail: the service, its attributes, the
    policy that applies and its fallbacks (names only)."""
    from doorstep.audit.services import record

    record(
        session,
        action="policy.scope_resolved",
        actor=actor,
        details={
            "service": resolution.service or None,
            **dict(resolution.attributes),
            "policy": resolution.policy.key,
            "fallbacks": ",".join(policy.key for policy in resolution.fallbacks) or None,
        },
    )
