"""What the relay between ``serve`` replicas says on PostgreSQL channels (decision 0047).

A NOTIFY payload is text shorter than 8000 bytes, so a message (an encoded Record or
Msg) is cut into parts of :data:`CHUNK` bytes, each sent as one payload::

    <kind> <sender replica> <number> <part> <parts> <base64 of the part>

All the parts of a message are sent in one transaction; :class:`Reassembly` joins
them (in any order) by sender, kind and number.  The kinds:

* ``q`` a request Record for the device, to the replica holding its session;
* ``a`` the device's answer (a Msg), back to the replica that asked;
* ``o`` the session is not here (the part is the request's msg_id): DeviceOfflineError;
* ``c`` the OperationComplete (a Notify Msg) of a command the asker started.

``number`` is the asking replica's number for the request: the answers name it too.
"""

from __future__ import annotations

import base64
import binascii
import time
from dataclasses import dataclass, field

REQUEST = "q"
ANSWER = "a"
OFFLINE = "o"
COMPLETE = "c"
KINDS = frozenset({REQUEST, ANSWER, OFFLINE, COMPLETE})

MAX_PAYLOAD = 7900
"""Bytes per NOTIFY payload we send (PostgreSQL refuses 8000 and more)."""
CHUNK = 5700
"""Raw bytes per part: base64 makes 7600 characters, and the header fits in the rest."""


@dataclass(frozen=True, slots=True)
class Part:
    """One payload, read."""

    kind: str
    sender: str
    number: int
    index: int
    count: int
    data: bytes


def pack(kind: str, sender: str, number: int, data: bytes) -> list[str]:
    """The payloads carrying ``data`` (at least one, also for no bytes)."""
    chunks = [data[i : i + CHUNK] for i in range(0, len(data), CHUNK)] or [b""]
    count = len(chunks)
    return [
        f"{kind} {sender} {number} {index} {count} {base64.b64encode(chunk).decode('ascii')}"
        for index, chunk in enumerate(chunks)
    ]


def unpack(payload: str) -> Part | None:
    """The part a payload carries, or None for anything malformed."""
    fields = payload.split(" ")
    if len(fields) != 6 or fields[0] not in KINDS:
        return None
    kind, sender, number, index, count, encoded = fields
    try:
        part = Part(kind, sender, int(number), int(index), int(count), b"")
        data = base64.b64decode(encoded, validate=True)
    except (ValueError, binascii.Error):
        return None
    if not 0 <= part.index < part.count:
        return None
    return Part(kind, sender, part.number, part.index, part.count, data)


@dataclass
class _Open:
    started: float
    count: int
    parts: dict[int, bytes] = field(default_factory=dict)


class Reassembly:
    """Joins the parts of messages; bounded in size and in how long a message may wait."""

    def __init__(self, max_size: int, ttl: float) -> None:
        self._max_parts = max_size // CHUNK + 1
        self._ttl = ttl
        self._open: dict[tuple[str, str, int], _Open] = {}

    def add(self, part: Part) -> bytes | None:
        """The whole message once its last part arrived; None until then (or if too big)."""
        if part.count == 1:
            return part.data
        if part.count > self._max_parts:
            return None
        now = time.monotonic()
        key = (part.sender, part.kind, part.number)
        entry = self._open.get(key)
        if entry is None:
            self._prune(now)
            entry = self._open[key] = _Open(now, part.count)
        elif entry.count != part.count:
            return None
        entry.parts[part.index] = part.data
        if len(entry.parts) < part.count:
            return None
        del self._open[key]
        return b"".join(entry.parts[i] for i in range(part.count))

    def _prune(self, now: float) -> None:
        for key, entry in list(self._open.items()):
            if now - entry.started > self._ttl:
                del self._open[key]

    def __len__(self) -> int:
        return len(self._open)
