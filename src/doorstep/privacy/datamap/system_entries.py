"""The entries of ``systems.yaml``: connected systems, their elements, tables and completions.

The immutable values :mod:`.systems` builds from a pack's ``systems.yaml``, the
vocabulary they are written in (system kinds, identifiers, erase modes, the
policy's sensitive and payment categories), and the checks of a system's url
and limits that :mod:`.system_urls` shares.  Kept apart from the reader so the
reader is one module of parsing; :mod:`.systems` re-exports every name.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from doorstep.core.errors import ConfigurationError
from doorstep.privacy.datamap.pack_lines import at
from doorstep.privacy.datamap.pack_lines import text as _text
from doorstep.vocabulary.declarations import LegalBasis

#: The connected systems' file of a pack; errors name it with the line.
SYSTEMS_FILE = "systems.yaml"

#: The policy's sensitive categories (CORP-1.20) as fideslang category prefixes:
#: origin, political views, religion and philosophy, genetic, biometric, health,
#: sex life and orientation, criminal data, precise location, financial status and
#: bank accounts, social security, driving licence, passport and other government ids.
SENSITIVE_CATEGORIES = (
    "user.demographic.race_ethnicity",
    "user.demographic.political_opinion",
    "user.demographic.religious_belief",
    "user.demographic.sexual_orientation",
    "user.health_and_medical",
    "user.biometric",
    "user.authorization.biometric",
    "user.criminal_history",
    "user.location.precise",
    "user.financial",
    "user.government_id",
)
#: Payment data (CORP-1.21): stored only tokenised, on consent or a recorded basis.
PAYMENT_CATEGORIES = ("user.financial",)
_PAYMENT_BASES = frozenset({LegalBasis.CONSENT, LegalBasis.CONTRACT, LegalBasis.LEGAL_OBLIGATION})
_NAME = re.compile(r"^[a-z][a-z0-9_]*$")


def is_sensitive(category: str) -> bool:
    """Whether ``category`` is one of the policy's sensitive categories (CORP-1.20)."""
    return any(category == item or category.startswith(item + ".") for item in SENSITIVE_CATEGORIES)


def is_payment(category: str) -> bool:
    """Whether ``category`` is payment data, stored tokenised only (CORP-1.21)."""
    return any(category == item or category.startswith(item + ".") for item in PAYMENT_CATEGORIES)


class SystemKind(StrEnum):
    """How a connector reaches the system."""

    SQL = "sql"
    HTTP = "http"
    MANUAL = "manual"


class Identifier(StrEnum):
    """How a subject is identified in a connected system."""

    EMAIL = "email"
    PHONE = "phone"
    ACCOUNT_ID = "account_id"
    ORDER_NUMBER = "order_number"


class EraseMode(StrEnum):
    """What erasure does to an SQL table's rows of the subject."""

    DELETE = "delete"
    ANONYMISE = "anonymise"


@dataclass(frozen=True, slots=True)
class SystemElement:
    """One data element of a connected system, declared like a column of Doorstep's schema.

    ``field`` is the policy's name of the field (``name``, ``postcode``), checked
    against an activity's list; ``sensitive`` is derived from the category.
    """

    key: str
    field: str
    category: str
    subject: str
    purposes: tuple[str, ...]
    legal_basis: LegalBasis
    retention: str
    clauses: tuple[str, ...] = ()
    description: str = ""
    tokenised: bool = False

    @property
    def sensitive(self) -> bool:
        """Whether the category is one of the policy's sensitive ones (CORP-1.20)."""
        return is_sensitive(self.category)


@dataclass(frozen=True, slots=True)
class SqlTable:
    """An SQL table of a system: the key column per identifier, the erase mode, the columns."""

    name: str
    keys: Mapping[Identifier, str]
    erase: EraseMode
    columns: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Source:
    """Where acquired data came from (CORP-1.17): origin, lawful basis, acquisition date."""

    origin: str
    basis: str
    acquired_on: str


@dataclass(frozen=True, slots=True)
class CompletionSource:
    """Where an SQL system's completion events come from by themselves (``source:``).

    A row of ``table`` whose ``at`` column (a date or a timestamp) is set and not
    after today is a closed record, its id in the ``key`` column (the table's key
    column of the completion's identifier); ``subject``, when declared, is the
    table's ``account_id`` key column, whose value names the Doorstep subject.
    The periodic scan (``doorstep.privacy.connectors.completions.sources``) reads
    these columns only.
    """

    table: str
    key: str
    at: str
    subject: str | None = None


@dataclass(frozen=True, slots=True)
class Completion:
    """A kind of record of a system whose completion schedules its deletion (``completions:``).

    Closing an order's after-sales period, a ticket, a job application or a shop
    account (CORP-5.4, CORP-5.5, CPE-IV.1.b) is recorded as a completion event of
    this ``kind``; the record is found by its ``identifier`` (an order number, an
    account id …; None in a manual system, where the desk looks the record up by
    its id) and erased once the ``retention`` rule's period has passed since the
    event (``doorstep.privacy.connectors.completions``).
    """

    kind: str
    identifier: Identifier | None
    retention: str
    description: str = ""
    #: Where the events come from by themselves (an SQL system's table), if declared.
    source: CompletionSource | None = None


@dataclass(frozen=True, slots=True)
class ConnectedSystem:
    """An external system that may hold a subject's data, and how to reach it."""

    key: str
    name: str
    kind: SystemKind
    description: str
    identifiers: tuple[Identifier, ...]
    elements: Mapping[str, SystemElement]
    url: str = ""
    tables: tuple[SqlTable, ...] = ()
    source: Source | None = None
    opt_in: bool = False
    timeout_seconds: float = 10.0
    #: Days a manual task is due in (never later than the request's own deadline).
    due_days: int = 7
    #: Record kinds whose completion schedules their deletion, by kind.
    completions: Mapping[str, Completion] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class SystemActivity:
    """A processing activity whose fields the policy lists: only these may be declared.

    ``choice`` names the user's choice the activity's fields are asked on and
    nothing else (the after-sales mailing service: CORP-1.15); empty when the
    activity is part of the service itself.
    """

    purpose: str
    fields: tuple[str, ...]
    clauses: tuple[str, ...] = ()
    choice: str = ""


@dataclass(frozen=True, slots=True)
class SystemsMap:
    """The connected systems and the field-listed activities of a pack."""

    systems: Mapping[str, ConnectedSystem] = field(default_factory=dict)
    activities: Mapping[str, SystemActivity] = field(default_factory=dict)

    def elements(self) -> list[tuple[ConnectedSystem, SystemElement]]:
        """Every element of every system, in declaration order."""
        return [
            (system, item) for system in self.systems.values() for item in system.elements.values()
        ]

    def retention_rules(self) -> frozenset[str]:
        """The retention rules the systems' elements declare."""
        return frozenset(item.retention for _, item in self.elements())


def _fail(message: str) -> ConfigurationError:
    return ConfigurationError(f"policy pack: {message}")


_SQL_SCHEMES = ("postgresql://", "mysql://", "mariadb://")


def _url(key: str, kind: SystemKind, spec: dict[str, Any]) -> str:
    """The declared url: required but for manual systems, of the kind's scheme, no password."""
    url = _text(spec.get("url"), f"system {key!r} url")
    if kind is not SystemKind.MANUAL and not url:
        raise _fail(
            f"system {key!r} ({kind.value}) declares no url: connectors reach declared urls only"
        )
    if kind is SystemKind.SQL and not url.startswith(_SQL_SCHEMES):
        raise _fail(f"system {key!r} url must be postgresql://, mysql:// or mariadb://")
    if kind is SystemKind.HTTP and not url.startswith(("https://", "http://")):
        raise _fail(f"system {key!r} url must be http:// or https://")
    authority = url.split("//", 1)[-1].split("/", 1)[0]
    if "@" in authority and ":" in authority.split("@", 1)[0]:
        raise _fail(f"system {key!r} url holds a password: store it encrypted, apart")
    return url


def _limits(key: str, spec: dict[str, Any]) -> tuple[float, int]:
    """``timeout_seconds`` (0, 300] and ``due_days`` (>= 1)."""
    with at(SYSTEMS_FILE, spec, "timeout_seconds"):
        timeout = spec.get("timeout_seconds", 10)
        if not isinstance(timeout, int | float) or not 0 < timeout <= 300:
            raise _fail(f"system {key!r} timeout_seconds must be a number of seconds (0, 300]")
    with at(SYSTEMS_FILE, spec, "due_days"):
        due = spec.get("due_days", 7)
        if not isinstance(due, int) or due < 1:
            raise _fail(f"system {key!r} due_days must be a positive whole number")
    return float(timeout), due
