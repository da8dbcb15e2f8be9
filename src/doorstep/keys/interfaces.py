"""The seam between Doorstep and whatever holds its key-encryption keys.

A :class:`Keyring` holds KEKs and the *destruction tombstones* of subjects.
Doorstep never sees KEK material: it hands a data key (DEK) in and gets a
wrapped blob back, and the reverse.  Three implementations exist or are planned:

* :class:`~doorstep.keys.keyring.FileKeyring`, a local 0600 JSON file (default);
* :class:`~doorstep.keys.keyring.MemoryKeyring`, for tests and benchmarks;
* an external KMS (Vault transit, a cloud KMS, an HSM) behind the same Protocol.

Contract every implementation keeps (decision 0006):

* ``wrap`` and ``unwrap`` bind the wrapped key to ``(kek_id, subject_id,
  key_version)`` as associated data, so a wrapped key copied to another
  subject's row does not open;
* after ``destroy_subject``, ``wrap``/``unwrap``/``rewrap`` for that subject raise
  :class:`~doorstep.keys.exceptions.KeyDestroyedError` for as long as any KEK
  that existed at destruction time is in the keyring.  Tombstones live *outside*
  the database, so restoring a database dump does not bring the key back;
* a retired KEK's material is gone; unwrapping under it raises KeyDestroyedError;
* tombstones and KEK state survive restarts and are shared by every process
  that uses the same keyring.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol, runtime_checkable


@dataclass(frozen=True, slots=True)
class KekInfo:
    """What may be shown about a KEK: never its material."""

    id: str
    created_at: datetime
    active: bool


@dataclass(frozen=True, slots=True)
class WrappedKey:
    """A data key encrypted under the KEK ``kek_id``; safe to store in the database."""

    kek_id: str
    blob: bytes

    def __repr__(self) -> str:
        return f"WrappedKey(kek_id={self.kek_id!r}, blob=<{len(self.blob)} bytes>)"


@runtime_checkable
class Keyring(Protocol):
    """Key-encryption keys and subject tombstones, kept outside the database."""

    def active_kek(self) -> str:
        """The id of the newest KEK, which wraps every new or re-wrapped data key."""
        ...

    def keks(self) -> list[KekInfo]:
        """The usable KEKs, oldest first (the last one is active)."""
        ...

    def retired_keks(self) -> list[str]:
        """Ids of KEKs whose material has been destroyed."""
        ...

    def add_kek(self, *, now: datetime) -> KekInfo:
        """Create a new KEK and make it active; older ones stay usable for unwrapping."""
        ...

    def retire_kek(self, kek_id: str, *, now: datetime) -> None:
        """Destroy an old KEK's material; refuses the active one.

        The caller checks that nothing in the database still references it.
        Tombstones that only guarded keys under retired KEKs are pruned.
        """
        ...

    def wrap(self, subject_id: uuid.UUID, key_version: int, dek: bytes) -> WrappedKey:
        """Encrypt ``dek`` under the active KEK, bound to the subject and key version."""
        ...

    def unwrap(self, wrapped: WrappedKey, subject_id: uuid.UUID, key_version: int) -> bytes:
        """Return the data key; KeyDestroyedError when the subject or KEK is gone."""
        ...

    def rewrap(self, wrapped: WrappedKey, subject_id: uuid.UUID, key_version: int) -> WrappedKey:
        """The same data key under the active KEK (a KMS may do this without exposing it)."""
        ...

    def destroy_subject(self, subject_id: uuid.UUID, *, now: datetime) -> None:
        """Record that the subject's keys are destroyed; idempotent and irreversible."""
        ...

    def destroy_subjects(self, subject_ids: Sequence[uuid.UUID], *, now: datetime) -> None:
        """:meth:`destroy_subject` for each of ``subject_ids``, made durable at once."""
        ...

    def is_destroyed(self, subject_id: uuid.UUID) -> bool:
        """True when a tombstone for the subject is in force."""
        ...

    def tombstone_count(self) -> int:
        """How many tombstones are in force (for status output)."""
        ...

    def describe(self) -> str:
        """Where the keyring lives, for messages (a path or a KMS name; no secrets)."""
        ...
