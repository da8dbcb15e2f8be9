"""The policy pack's data-map vocabulary: purposes, retention rules, regions, recipients.

A pack is a folder with a ``datamap.yaml``; Doorstep ships ``policy_pack/default``.
:func:`load_pack` parses and validates it and raises :class:`ConfigurationError`
naming the first offending key, so a bad pack stops start-up with a clear message.

Besides the vocabulary columns name, a pack says who answers for the processing
and where it applies, for the generated record of processing and notices:

* ``controller:`` — name, e-mail, postal address and the DPO's contact (Art. 30(1)(a));
* ``security_measures:`` — the general description of security measures (Art. 30(1)(g));
* ``products:`` — the products a notice is written for (``router``, ``gateway``)
  and the data subjects it speaks to; a purpose lists the products it applies
  to in ``products:``, or applies to all;
* a region or recipient with ``transfer:`` is in a third country; the value names
  the safeguard (Art. 46), and ``country:`` where it is; a recipient's
  ``contact:`` (an e-mail address) receives erasure and correction notices.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import timedelta
from enum import StrEnum
from functools import cache
from pathlib import Path
from typing import Any

import yaml

from doorstep.core.errors import ConfigurationError
from doorstep.privacy.datamap.taxonomy import data_subjects, data_uses

DEFAULT_PACK = Path(__file__).resolve().parents[2] / "policy_pack" / "default"


class Trigger(StrEnum):
    """The events from which a retention period is counted."""

    CREATED = "created"
    SUBJECT_ERASED = "subject_erased"
    DEREGISTERED = "deregistered"
    DEVICE_OFFLINE = "device_offline"
    DEVICE_UNBOUND = "device_unbound"
    REQUEST_CLOSED = "request_closed"
    NOT_STORED = "not_stored"


@dataclass(frozen=True, slots=True)
class Purpose:
    """A purpose personal data may be used for, mapped to a fideslang data use.

    ``products`` names the products (keys of :attr:`PolicyPack.products`) the
    purpose applies to; empty means every product.
    """

    key: str
    data_use: str
    description: str
    clauses: tuple[str, ...]
    products: tuple[str, ...] = ()

    def applies_to(self, product: str) -> bool:
        """Whether the purpose is part of ``product``'s service."""
        return not self.products or product in self.products


@dataclass(frozen=True, slots=True)
class RetentionRule:
    """How long an element is kept: ``period`` after ``trigger``.

    ``clauses`` are the ids of the policy's promises the rule keeps (the
    retention report lists them); a rule whose trigger is ``not_stored``
    describes data that must never be written anywhere.
    """

    key: str
    trigger: Trigger
    period: timedelta
    description: str
    clauses: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Contact:
    """Who to write to: a name, an e-mail address and a postal address."""

    name: str
    email: str
    address: str = ""


@dataclass(frozen=True, slots=True)
class Controller:
    """The controller of the processing and its data protection officer (Art. 30(1)(a))."""

    name: str
    email: str
    address: str
    dpo: Contact | None = None


@dataclass(frozen=True, slots=True)
class Product:
    """A product a privacy notice is written for (a router, a home gateway).

    ``subjects`` are the fideslang data subjects the product's notice speaks to
    (``customer`` unless the pack says otherwise): staff data is in the record of
    processing, not in a subscriber's notice.
    """

    key: str
    name: str
    description: str = ""
    subjects: tuple[str, ...] = ("customer",)


@dataclass(frozen=True, slots=True)
class Destination:
    """A storage region or a recipient: where it is, and the safeguard of a transfer.

    A non-empty ``transfer`` marks a third country (GDPR Chapter V) and names the
    safeguard the transfer relies on; ``country`` says where, when known.
    """

    key: str
    description: str
    country: str = ""
    transfer: str = ""
    #: Where a recipient is sent erasure and correction notices (CPE-V.3.c, V.2.b).
    contact: str = ""

    @property
    def is_transfer(self) -> bool:
        """Whether sending data here is a transfer to a third country."""
        return bool(self.transfer)


@dataclass(frozen=True, slots=True)
class PolicyPack:
    """The parsed vocabulary of one pack.

    ``regions`` and ``recipients`` map keys to descriptions (what declarations
    are checked against); ``region_details`` and ``recipient_details`` carry the
    same entries with their country and transfer safeguard.
    """

    path: Path
    purposes: dict[str, Purpose]
    retention: dict[str, RetentionRule]
    regions: dict[str, str]
    recipients: dict[str, str]
    controller: Controller | None = None
    products: dict[str, Product] = field(default_factory=dict)
    security_measures: tuple[str, ...] = ()
    region_details: dict[str, Destination] = field(default_factory=dict)
    recipient_details: dict[str, Destination] = field(default_factory=dict)
    #: Ids of the pack's clauses.yaml; empty when the pack has none (then ids go unchecked).
    clause_ids: frozenset[str] = frozenset()


def _clause_ids(path: Path) -> frozenset[str]:
    """The clause ids of ``path/clauses.yaml`` (empty set if the pack has no catalogue)."""
    source = path / "clauses.yaml"
    if not source.exists():
        return frozenset()
    raw = yaml.safe_load(source.read_text(encoding="utf-8")) or {}
    return frozenset(str(item["id"]) for item in raw.get("clauses") or ())


_DURATION = re.compile(
    r"^P(?:(?P<years>\d+)Y)?(?:(?P<months>\d+)M)?(?:(?P<weeks>\d+)W)?(?:(?P<days>\d+)D)?"
    r"(?:T(?:(?P<hours>\d+)H)?(?:(?P<minutes>\d+)M)?(?:(?P<seconds>\d+)S)?)?$"
)


def parse_period(text: str) -> timedelta:
    """Parse an ISO 8601 duration (``P2Y``, ``P30D``, ``PT1H``).

    Years count 365 days and months 30: retention periods are promises of
    "at most", and these are the conservative readings (decision 0004).
    """
    match = _DURATION.match(text.strip()) if isinstance(text, str) else None
    if not match or text.strip() in {"P", "PT"}:
        raise ConfigurationError(f"retention period {text!r} is not an ISO 8601 duration")
    parts = {name: int(value or 0) for name, value in match.groupdict().items()}
    return timedelta(
        days=parts["years"] * 365 + parts["months"] * 30 + parts["weeks"] * 7 + parts["days"],
        hours=parts["hours"],
        minutes=parts["minutes"],
        seconds=parts["seconds"],
    )


def _section(raw: dict[str, Any], name: str) -> dict[str, Any]:
    value = raw.get(name) or {}
    if not isinstance(value, dict):
        raise ConfigurationError(f"policy pack: '{name}' must be a mapping")
    return value


def _entry(value: Any, where: str) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise ConfigurationError(f"policy pack: {where} must be a mapping")
    return value


def _text(value: Any, where: str) -> str:
    if value is None:
        return ""
    if not isinstance(value, str | int | float):
        raise ConfigurationError(f"policy pack: {where} must be text")
    return str(value).strip()


def _strings(value: Any, where: str) -> tuple[str, ...]:
    if value is None:
        return ()
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise ConfigurationError(f"policy pack: {where} must be a list of strings")
    return tuple(value)


def _contact(spec: Any, where: str, *, required: tuple[str, ...]) -> dict[str, str]:
    if not isinstance(spec, dict):
        raise ConfigurationError(f"policy pack: '{where}' must be a mapping")
    values = {
        name: _text(spec.get(name), f"{where}.{name}") for name in ("name", "email", "address")
    }
    for name in required:
        if not values[name]:
            raise ConfigurationError(f"policy pack: '{where}' has no {name}")
    return values


def _controller(raw: dict[str, Any]) -> Controller | None:
    spec = raw.get("controller")
    if spec is None:
        return None
    values = _contact(spec, "controller", required=("name", "email", "address"))
    dpo = spec.get("dpo")
    return Controller(
        name=values["name"],
        email=values["email"],
        address=values["address"],
        dpo=None
        if dpo is None
        else Contact(**_contact(dpo, "controller.dpo", required=("name", "email"))),
    )


def _products(raw: dict[str, Any]) -> dict[str, Product]:
    products: dict[str, Product] = {}
    for key, value in _section(raw, "products").items():
        spec = _entry(value, f"product {key!r}")
        name = _text(spec.get("name"), f"product {key!r} name") or str(key)
        subjects = _strings(spec.get("subjects"), f"product {key!r} subjects") or ("customer",)
        for subject in subjects:
            if subject not in data_subjects():
                raise ConfigurationError(
                    f"policy pack: product {key!r} names unknown data subject {subject!r}"
                )
        description = _text(spec.get("description"), f"product {key!r} description")
        products[key] = Product(key, name, description, subjects)
    return products


def _destinations(raw: dict[str, Any], name: str) -> dict[str, Destination]:
    found: dict[str, Destination] = {}
    for key, value in _section(raw, name).items():
        spec = _entry(value, f"{name} entry {key!r}")
        found[key] = Destination(
            key,
            _text(spec.get("description"), f"{name}.{key}.description"),
            _text(spec.get("country"), f"{name}.{key}.country"),
            _text(spec.get("transfer"), f"{name}.{key}.transfer"),
            _text(spec.get("contact"), f"{name}.{key}.contact"),
        )
    return found


def _purposes(raw: dict[str, Any], products: dict[str, Product]) -> dict[str, Purpose]:
    purposes: dict[str, Purpose] = {}
    for key, spec in _section(raw, "purposes").items():
        use = spec.get("data_use")
        if use not in data_uses():
            raise ConfigurationError(f"policy pack: purpose {key!r} has unknown data_use {use!r}")
        applies = _strings(spec.get("products"), f"purpose {key!r} products")
        for product in applies:
            if product not in products:
                raise ConfigurationError(
                    f"policy pack: purpose {key!r} names unknown product {product!r}"
                )
        purposes[key] = Purpose(
            key, use, spec.get("description", ""), tuple(spec.get("clauses", ())), applies
        )
    return purposes


def _retention(raw: dict[str, Any]) -> dict[str, RetentionRule]:
    retention: dict[str, RetentionRule] = {}
    for key, spec in _section(raw, "retention").items():
        try:
            trigger = Trigger(spec.get("trigger"))
        except ValueError:
            raise ConfigurationError(
                f"policy pack: retention rule {key!r} has unknown trigger {spec.get('trigger')!r}"
            ) from None
        try:
            period = parse_period(str(spec.get("period", "")))
        except ConfigurationError as exc:
            raise ConfigurationError(f"policy pack: retention rule {key!r}: {exc.detail}") from None
        clauses = _strings(spec.get("clauses"), f"retention rule {key!r} clauses")
        retention[key] = RetentionRule(key, trigger, period, spec.get("description", ""), clauses)
    return retention


def load_pack(path: Path = DEFAULT_PACK) -> PolicyPack:
    """Read and validate ``path/datamap.yaml``."""
    source = path / "datamap.yaml"
    try:
        raw = yaml.safe_load(source.read_text(encoding="utf-8")) or {}
    except FileNotFoundError:
        raise ConfigurationError(f"policy pack: {source} does not exist") from None
    except yaml.YAMLError as exc:
        raise ConfigurationError(f"policy pack: {source} is not valid YAML ({exc})") from None
    if not isinstance(raw, dict):
        raise ConfigurationError(f"policy pack: {source} must hold a mapping")
    products = _products(raw)
    region_details = _destinations(raw, "regions")
    recipient_details = _destinations(raw, "recipients")
    purposes = _purposes(raw, products)
    clause_ids = _clause_ids(path)
    for purpose in purposes.values():
        unknown = [c for c in purpose.clauses if clause_ids and c not in clause_ids]
        if unknown:
            raise ConfigurationError(
                f"policy pack: purpose {purpose.key!r} cites unknown clause {unknown[0]!r}"
            )
    retention = _retention(raw)
    for rule in retention.values():
        unknown = [c for c in rule.clauses if clause_ids and c not in clause_ids]
        if unknown:
            raise ConfigurationError(
                f"policy pack: retention rule {rule.key!r} cites unknown clause {unknown[0]!r}"
            )
    return PolicyPack(
        path,
        purposes,
        retention,
        regions={key: item.description for key, item in region_details.items()},
        recipients={key: item.description for key, item in recipient_details.items()},
        controller=_controller(raw),
        products=products,
        security_measures=_strings(raw.get("security_measures"), "security_measures"),
        region_details=region_details,
        recipient_details=recipient_details,
        clause_ids=clause_ids,
    )


@cache
def default_pack() -> PolicyPack:
    """The pack shipped with Doorstep, loaded once."""
    return load_pack(DEFAULT_PACK)
