"""How a link's hash is computed: the one definition the sealer and the verifier share.

``hash = sha256(prev_hash || seq as 8 bytes big-endian || canonical JSON of the event)``

The canonical JSON holds every column of the event (``id``, ``at`` in UTC as
``YYYY-MM-DDTHH:MM:SS.ffffff+00:00``, ``actor``, ``action``, ``purpose``, ``element``,
``subject_id`` as a lowercase UUID string, ``outcome``, ``details``) with sorted
keys, no whitespace and ASCII only, so anyone can re-implement the check from
this docstring.  The first link's ``prev_hash`` is :data:`GENESIS` (32 zero
bytes).  Hashing ``seq`` as well makes a link's position part of what it vouches
for, so moving a link is as visible as editing it.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

GENESIS = bytes(32)
# One encoder, built once: json.dumps() with options builds a new one per call.
_ENCODER = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=True)

#: Columns of ``audit_events`` in the order the sealer and verifier select them.
EVENT_COLUMNS = (
    "id",
    "at",
    "actor",
    "action",
    "purpose",
    "element",
    "subject_id",
    "outcome",
    "details",
)


@dataclass(frozen=True, slots=True)
class EventRow:
    """An event as read back from the database, ready to hash."""

    id: int
    at: datetime
    actor: str
    action: str
    purpose: str | None
    element: str | None
    subject_id: uuid.UUID | None
    outcome: str
    details: Mapping[str, Any]

    def canonical(self) -> bytes:
        """The canonical JSON of the event (see module docstring)."""
        document = {
            "id": self.id,
            "at": self.at.astimezone(UTC).isoformat(timespec="microseconds"),
            "actor": self.actor,
            "action": self.action,
            "purpose": self.purpose,
            "element": self.element,
            "subject_id": str(self.subject_id) if self.subject_id is not None else None,
            "outcome": self.outcome,
            "details": dict(self.details),
        }
        return _ENCODER.encode(document).encode("ascii")


def link_hash(prev_hash: bytes, seq: int, event: EventRow) -> bytes:
    """The hash of the link at ``seq`` that seals ``event`` after ``prev_hash``."""
    digest = hashlib.sha256(prev_hash)
    digest.update(seq.to_bytes(8, "big"))
    digest.update(event.canonical())
    return digest.digest()
