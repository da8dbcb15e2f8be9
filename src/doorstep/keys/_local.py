"""A keyring whose KEKs live in this process: the shared core of the file and memory keyrings.

Wrapped-key format, version 1::

    0x01 || nonce (12) || AES-256-GCM(KEK, DEK) || tag (16)          61 bytes for a 32-byte DEK

with associated data ``b"doorstep/dek\\0" || u16 len(kek_id) || kek_id ||
subject id (16) || u32 key version``.

Tombstones are keyed by ``HMAC-SHA256(salt, subject id)`` (truncated to 128
bits) under a random salt of the keyring, so the keyring lists no subject ids.
A tombstone remembers the highest KEK sequence number at destruction time; it
is pruned once every KEK up to that number is retired, because from then on no
copy of the subject's wrapped key, in any backup, can be opened by anyone.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import secrets
import struct
import threading
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, TypeVar

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from doorstep.core.clock import Clock, SystemClock
from doorstep.keys.exceptions import DecryptionError, KeyDestroyedError, KeyringError
from doorstep.keys.interfaces import KekInfo, WrappedKey

FORMAT = "doorstep.keyring"
FORMAT_VERSION = 1
WRAP_V1 = 1
KEK_SIZE = 32
_NONCE = 12
_AAD_PREFIX = b"doorstep/dek\x00"
T = TypeVar("T")


@dataclass(slots=True)
class Kek:
    """One key-encryption key.  ``material`` is never printed."""

    id: str
    seq: int
    created_at: datetime
    material: bytes = field(repr=False)

    def info(self, active: bool) -> KekInfo:
        """The public description of this KEK."""
        return KekInfo(self.id, self.created_at, active)


@dataclass(slots=True)
class Tombstone:
    """A destroyed subject: when, and the newest KEK that could have wrapped its key."""

    destroyed_at: datetime
    max_seq: int


@dataclass(slots=True)
class State:
    """Everything a local keyring holds; ``keks`` is ordered oldest first."""

    salt: bytes = field(repr=False)
    keks: list[Kek]
    retired: dict[str, int]
    tombstones: dict[str, Tombstone]

    @classmethod
    def new(cls, now: datetime) -> State:
        """A fresh keyring with one KEK."""
        state = cls(salt=secrets.token_bytes(32), keks=[], retired={}, tombstones={})
        state.add_kek(now)
        return state

    def add_kek(self, now: datetime) -> Kek:
        """Append a new KEK (sequence numbers never repeat, even after retirement)."""
        seq = 1 + max([k.seq for k in self.keks] + list(self.retired.values()), default=0)
        kek = Kek(f"kek-{seq:04d}-{secrets.token_hex(4)}", seq, now, secrets.token_bytes(KEK_SIZE))
        self.keks.append(kek)
        return kek

    def to_json(self) -> dict[str, Any]:
        """The JSON document a file keyring stores."""
        return {
            "format": FORMAT,
            "version": FORMAT_VERSION,
            "salt": _b64(self.salt),
            "keks": [
                {
                    "id": k.id,
                    "seq": k.seq,
                    "created_at": k.created_at.isoformat(),
                    "material": _b64(k.material),
                }
                for k in self.keks
            ],
            "retired": dict(self.retired),
            "tombstones": {
                digest: {"destroyed_at": t.destroyed_at.isoformat(), "max_seq": t.max_seq}
                for digest, t in self.tombstones.items()
            },
        }

    @classmethod
    def from_json(cls, raw: Any) -> State:
        """Parse a stored document; KeyringError (naming no secret) when it is not one."""
        try:
            if raw["format"] != FORMAT or raw["version"] != FORMAT_VERSION:
                raise KeyringError("the keyring file has an unknown format or version")
            keks = [
                Kek(
                    str(k["id"]),
                    int(k["seq"]),
                    datetime.fromisoformat(k["created_at"]),
                    _unb64(k["material"], KEK_SIZE),
                )
                for k in raw["keks"]
            ]
            state = cls(
                salt=_unb64(raw["salt"], 32),
                keks=sorted(keks, key=lambda k: k.seq),
                retired={str(k): int(v) for k, v in raw["retired"].items()},
                tombstones={
                    str(d): Tombstone(datetime.fromisoformat(t["destroyed_at"]), int(t["max_seq"]))
                    for d, t in raw["tombstones"].items()
                },
            )
        except KeyringError:
            raise
        except (KeyError, TypeError, ValueError, AttributeError):
            raise KeyringError(
                "the keyring file is corrupt (a field is missing or invalid)"
            ) from None
        if not state.keks:
            raise KeyringError("the keyring holds no key-encryption key")
        return state


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _unb64(text: str, size: int) -> bytes:
    data = base64.b64decode(text, validate=True)
    if len(data) != size:
        raise ValueError("wrong key size")
    return data


def _wrap_aad(kek_id: str, subject_id: uuid.UUID, key_version: int) -> bytes:
    kek = kek_id.encode("utf-8")
    return b"".join(
        (
            _AAD_PREFIX,
            struct.pack(">H", len(kek)),
            kek,
            subject_id.bytes,
            struct.pack(">I", key_version),
        )
    )


class LocalKeyring:
    """A :class:`~doorstep.keys.interfaces.Keyring` that does the cryptography in-process.

    Subclasses decide where the :class:`State` lives by overriding ``_view``
    (the current state, refreshed if someone else changed it) and ``_update``
    (apply a change durably).  Thread-safe.
    """

    def __init__(self, state: State) -> None:
        self._state = state
        self._lock = threading.RLock()
        self._aeads: dict[str, AESGCM] = {}

    # -- storage hooks -------------------------------------------------------------------------

    def _view(self) -> State:
        return self._state

    def _update(self, change: Callable[[State], T]) -> T:
        with self._lock:
            return change(self._state)

    def describe(self) -> str:
        """Where the keyring lives."""
        return "in-memory keyring"

    # -- the Keyring protocol ------------------------------------------------------------------

    def active_kek(self) -> str:
        """The id of the newest KEK."""
        return self._view().keks[-1].id

    def keks(self) -> list[KekInfo]:
        """Usable KEKs, oldest first."""
        state = self._view()
        return [k.info(i == len(state.keks) - 1) for i, k in enumerate(state.keks)]

    def retired_keks(self) -> list[str]:
        """Ids of KEKs whose material is gone."""
        retired = self._view().retired
        return sorted(retired, key=retired.__getitem__)

    def add_kek(self, *, now: datetime) -> KekInfo:
        """Create and activate a new KEK."""
        kek = self._update(lambda state: state.add_kek(now))
        return kek.info(True)

    def retire_kek(self, kek_id: str, *, now: datetime) -> None:
        """Destroy an old KEK's material and prune tombstones it alone kept alive."""

        def change(state: State) -> None:
            if kek_id in state.retired:
                return
            if kek_id not in {k.id for k in state.keks}:
                raise KeyringError(f"KEK {kek_id} is not in this keyring")
            if state.keks[-1].id == kek_id:
                raise KeyringError(f"KEK {kek_id} is the active KEK and cannot be retired")
            gone = next(k for k in state.keks if k.id == kek_id)
            state.keks.remove(gone)
            state.retired[kek_id] = gone.seq
            oldest = min(k.seq for k in state.keks)
            for digest in [d for d, t in state.tombstones.items() if t.max_seq < oldest]:
                del state.tombstones[digest]

        self._update(change)
        self._aeads.pop(kek_id, None)

    def wrap(self, subject_id: uuid.UUID, key_version: int, dek: bytes) -> WrappedKey:
        """Encrypt ``dek`` under the active KEK."""
        state = self._view()
        self._refuse_destroyed(state, subject_id)
        kek = state.keks[-1]
        nonce = os.urandom(_NONCE)
        sealed = self._aead(kek).encrypt(nonce, dek, _wrap_aad(kek.id, subject_id, key_version))
        return WrappedKey(kek.id, bytes([WRAP_V1]) + nonce + sealed)

    def unwrap(self, wrapped: WrappedKey, subject_id: uuid.UUID, key_version: int) -> bytes:
        """Decrypt a wrapped data key (see the Keyring contract for the refusals)."""
        state = self._view()
        self._refuse_destroyed(state, subject_id)
        kek = next((k for k in state.keks if k.id == wrapped.kek_id), None)
        if kek is None:
            if wrapped.kek_id in state.retired:
                raise KeyDestroyedError(
                    "the data key was wrapped under a retired KEK; it can no longer be opened",
                    kek_id=wrapped.kek_id,
                )
            raise KeyringError(
                f"KEK {wrapped.kek_id} is not in this keyring; is this the right keyring?"
            )
        blob = wrapped.blob
        if len(blob) < 1 + _NONCE + 16 or blob[0] != WRAP_V1:
            raise DecryptionError("the wrapped data key is malformed", kek_id=kek.id)
        aad = _wrap_aad(kek.id, subject_id, key_version)
        try:
            return self._aead(kek).decrypt(blob[1 : 1 + _NONCE], blob[1 + _NONCE :], aad)
        except InvalidTag:
            raise DecryptionError(
                "the wrapped data key does not authenticate for this subject", kek_id=kek.id
            ) from None

    def rewrap(self, wrapped: WrappedKey, subject_id: uuid.UUID, key_version: int) -> WrappedKey:
        """The same data key under the active KEK; unchanged if it already is."""
        if wrapped.kek_id == self.active_kek():
            self._refuse_destroyed(self._view(), subject_id)
            return wrapped
        return self.wrap(subject_id, key_version, self.unwrap(wrapped, subject_id, key_version))

    def destroy_subject(self, subject_id: uuid.UUID, *, now: datetime) -> None:
        """Write the subject's tombstone (kept if one exists)."""
        self.destroy_subjects([subject_id], now=now)

    def destroy_subjects(self, subject_ids: Sequence[uuid.UUID], *, now: datetime) -> None:
        """Write each subject's tombstone (kept if one exists), in one update."""

        def change(state: State) -> None:
            tombstone = Tombstone(now, max(k.seq for k in state.keks))
            for subject_id in subject_ids:
                state.tombstones.setdefault(self._digest(state, subject_id), tombstone)

        self._update(change)

    def is_destroyed(self, subject_id: uuid.UUID) -> bool:
        """True when the subject's tombstone is in force."""
        state = self._view()
        return self._digest(state, subject_id) in state.tombstones

    def tombstone_count(self) -> int:
        """Tombstones in force."""
        return len(self._view().tombstones)

    # -- helpers -------------------------------------------------------------------------------

    @staticmethod
    def _digest(state: State, subject_id: uuid.UUID) -> str:
        return hmac.new(state.salt, subject_id.bytes, hashlib.sha256).hexdigest()[:32]

    def _refuse_destroyed(self, state: State, subject_id: uuid.UUID) -> None:
        if self._digest(state, subject_id) in state.tombstones:
            raise KeyDestroyedError(
                "the subject's data key was destroyed", subject_id=str(subject_id)
            )

    def _aead(self, kek: Kek) -> AESGCM:
        aead = self._aeads.get(kek.id)
        if aead is None:
            aead = self._aeads[kek.id] = AESGCM(kek.material)
        return aead

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.describe()}>"


class MemoryKeyring(LocalKeyring):
    """A keyring that lives and dies with the process: for tests and benchmarks only.

    ``clock`` dates the first KEK.  Tests simulate a backup restore by opening the
    restored database with the same instance.
    """

    def __init__(self, *, clock: Clock | None = None) -> None:
        super().__init__(State.new((clock or SystemClock()).now()))
