"""Seal and open what a system's task carries, under a keyring-wrapped key of its own row.

The identifiers to look for and the requester's address must outlive the
subject's data key: Doorstep's own erasure destroys that key at once, while a
slow system (or a person at the desk) finishes days later and the requester is
then told.  So each ``request_systems`` row gets a fresh AES-256-GCM data key,
wrapped by the keyring's active KEK under the row's id (as the connectors'
credentials are, decision 0033); the sealed bytes are bound to the row and the
column as associated data.  Emptying ``sealed`` and ``result`` when the request
closes leaves nothing to open.
"""

from __future__ import annotations

import json
import os
import uuid
from dataclasses import dataclass
from typing import Any

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from doorstep.keys.interfaces import Keyring, WrappedKey
from doorstep.privacy.connectors.base import Identifiers
from doorstep.privacy.requests.notices import Reach
from doorstep.privacy.requests.systems.models import RequestSystem

_VERSION = 1
_NONCE = 12


class SealError(Exception):
    """A sealed field could not be opened (emptied, another keyring); names the row only."""


@dataclass(frozen=True, slots=True)
class Carried:
    """What a task carries: the identifiers and, when there is one, the requester's address."""

    identifiers: Identifiers
    reach: Reach | None

    def as_json(self) -> dict[str, Any]:
        """A JSON-able copy, to seal (never logged)."""
        reach = self.reach
        return {
            "identifiers": self.identifiers.as_json(),
            "reach": None
            if reach is None
            else {
                "subject": str(reach.subject_id),
                "email": reach.email,
                "phone": reach.phone,
                "language": reach.language,
            },
        }

    @classmethod
    def from_json(cls, raw: dict[str, Any]) -> Carried:
        """The inverse of :meth:`as_json`."""
        found = raw.get("reach")
        reach = (
            None
            if found is None
            else Reach(
                uuid.UUID(found["subject"]), found["email"], found["phone"], found["language"]
            )
        )
        return cls(Identifiers.from_json(raw.get("identifiers") or {}), reach)

    def __repr__(self) -> str:  # never the values
        return f"Carried({self.identifiers!r}, reach={'yes' if self.reach else 'no'})"


def _aad(row: RequestSystem, column: str) -> bytes:
    return f"request_systems.{column}:{row.id}".encode()


def _key(keyring: Keyring, row: RequestSystem) -> bytes:
    if row.kek_id is None or row.wrapped_key is None:
        dek = AESGCM.generate_key(bit_length=256)
        wrapped = keyring.wrap(row.id, _VERSION, dek)
        row.kek_id, row.wrapped_key = wrapped.kek_id, wrapped.blob
        return dek
    try:
        return keyring.unwrap(WrappedKey(row.kek_id, row.wrapped_key), row.id, _VERSION)
    except Exception as exc:  # the keyring's own errors: name the row, nothing else
        raise SealError(f"the key of task {row.id} does not open") from exc


def seal_json(keyring: Keyring, row: RequestSystem, column: str, value: Any) -> bytes:
    """``value`` as JSON, sealed for ``row.<column>`` (``row.id`` must be set)."""
    nonce = os.urandom(_NONCE)
    plain = json.dumps(value, ensure_ascii=False, sort_keys=True).encode("utf-8")
    return nonce + AESGCM(_key(keyring, row)).encrypt(nonce, plain, _aad(row, column))


def open_json(keyring: Keyring, row: RequestSystem, column: str) -> Any:
    """The value sealed in ``row.<column>``; SealError when it is empty or does not open."""
    sealed = getattr(row, column)
    if sealed is None:
        raise SealError(f"task {row.id} holds no {column}")
    try:
        plain = AESGCM(_key(keyring, row)).decrypt(
            sealed[:_NONCE], sealed[_NONCE:], _aad(row, column)
        )
    except SealError:
        raise
    except Exception as exc:
        raise SealError(f"the {column} of task {row.id} does not open") from exc
    return json.loads(plain)


def carried(keyring: Keyring, row: RequestSystem) -> Carried:
    """The identifiers and address a task carries."""
    return Carried.from_json(open_json(keyring, row, "sealed"))
