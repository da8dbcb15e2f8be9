"""The one interface every connector keeps: find, export, erase or anonymise, confirm.

A connector is built for one :class:`~doorstep.privacy.datamap.systems.ConnectedSystem`
of the pack and is handed the subject's :class:`Identifiers` (what the request
knows: e-mail, phone, account id, order numbers).  Each call is one unit of work
against the system, done in one transaction there, and answers with a
:class:`Confirmation` that says what the system did; a failure is a
:class:`ConnectorError` whose ``reason`` is a short code safe to store and show
(``timeout``, ``unreachable``, ``garbage``, ``refused``, ``failed``) — never
a value of the subject's data or a credential.

Erasure is idempotent: a second run finds nothing left to change and confirms
with ``rows=0``, so a retried job never does a system's part twice in effect.
The HTTP and manual connectors also answer ``withdraw(identifiers, purposes)``
(a consent withdrawn or an objection: :attr:`Outcome.WITHDRAWN`); an SQL system
has no such call (:mod:`doorstep.privacy.connectors.withdrawals`).

Exception tree::

    ConnectorError            reason: a short code
     ├── ConnectorTimeout     reason "timeout"
     └── ConnectorGarbage     reason "garbage": an answer that is not what was asked
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Protocol

from doorstep.privacy.datamap.systems import ConnectedSystem, Identifier


class Outcome(StrEnum):
    """What a system answered to one operation."""

    FOUND = "found"
    NOT_FOUND = "not_found"
    EXPORTED = "exported"
    ERASED = "erased"
    #: Handed to a person (a manual system): confirmed later by the desk.
    PENDING = "pending"
    #: Kept by the system under a legal retention duty (a recorded exception).
    RETAINED = "retained"
    #: The system stopped what a withdrawn consent allowed (unsubscribed, tracking off).
    WITHDRAWN = "withdrawn"


@dataclass(frozen=True, slots=True)
class Identifiers:
    """The subject's identifiers a request knows, by kind (several values per kind)."""

    values: Mapping[Identifier, tuple[str, ...]] = field(default_factory=dict)

    @classmethod
    def of(cls, **kinds: Iterable[str] | str | None) -> Identifiers:
        """``Identifiers.of(email="a@b", order_number=["1", "2"])``; empty values dropped."""
        found: dict[Identifier, tuple[str, ...]] = {}
        for name, raw in kinds.items():
            items = (raw,) if isinstance(raw, str) else tuple(raw or ())
            kept = tuple(item for item in items if item)
            if kept:
                found[Identifier(name)] = kept
        return cls(found)

    def for_system(self, system: ConnectedSystem) -> Identifiers:
        """Only the kinds ``system`` identifies subjects by."""
        return Identifiers({k: v for k, v in self.values.items() if k in system.identifiers})

    def __bool__(self) -> bool:
        return any(self.values.values())

    def as_json(self) -> dict[str, list[str]]:
        """A JSON-able copy (to seal; never logged)."""
        return {kind.value: list(items) for kind, items in self.values.items()}

    @classmethod
    def from_json(cls, raw: Mapping[str, Any]) -> Identifiers:
        """The inverse of :meth:`as_json`."""
        return cls.of(**{str(k): [str(i) for i in v] for k, v in raw.items()})

    def __repr__(self) -> str:  # never the values
        return f"Identifiers(kinds={sorted(k.value for k in self.values)})"


@dataclass(frozen=True, slots=True)
class Confirmation:
    """What a system confirmed: the outcome, the rows touched, and an exported part.

    ``data`` is the system's part of an access export: element key -> list of
    values (only declared elements, never another column).  ``evidence`` is a
    reference the system gave (a ticket number, a job id), never personal data.
    """

    system: str
    outcome: Outcome
    rows: int = 0
    data: Mapping[str, list[Any]] = field(default_factory=dict)
    evidence: str = ""


class ConnectorError(Exception):
    """A connector could not do its part; ``reason`` is a short code, safe to store."""

    reason = "failed"

    def __init__(self, message: str, *, reason: str | None = None) -> None:
        super().__init__(message)
        if reason is not None:
            self.reason = reason


class ConnectorTimeout(ConnectorError):
    """The system did not answer in the declared time."""

    reason = "timeout"


class ConnectorGarbage(ConnectorError):
    """The system answered something that is not an answer to what was asked."""

    reason = "garbage"


class Connector(Protocol):
    """Reach one connected system for one subject."""

    system: ConnectedSystem

    def find(self, identifiers: Identifiers) -> Confirmation:
        """Whether the system holds the subject: FOUND (with ``rows``) or NOT_FOUND."""
        ...

    def export(self, identifiers: Identifiers) -> Confirmation:
        """The subject's declared elements (EXPORTED with ``data``) or NOT_FOUND."""
        ...

    def erase(self, identifiers: Identifiers) -> Confirmation:
        """Delete or anonymise the subject's rows as the pack says, in one transaction."""
        ...
