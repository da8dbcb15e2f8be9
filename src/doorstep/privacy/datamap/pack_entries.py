"""The entries of a policy pack's vocabulary, and its period syntax.

The immutable values :mod:`.pack` builds from ``datamap.yaml`` — purposes,
retention rules and their triggers, the controller and its contacts, products,
regions and recipients as destinations — and :func:`parse_period`, the ISO 8601
durations every period of a pack is written in (decision 0004).  Kept apart
from the reader so that the reader stays one module of parsing.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import timedelta
from enum import StrEnum

from doorstep.core.errors import ConfigurationError


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
