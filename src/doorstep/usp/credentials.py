"""Per-device credentials: every agent endpoint has its own secret, stored only as a hash.

There is no fleet-wide secret.  A device proves itself with its Endpoint ID and its
own secret: on WebSocket in the HTTP upgrade (``Authorization: Basic`` with the
endpoint id as user name, or ``Bearer`` with ``eid=`` in the query), on MQTT to the
broker (user name = endpoint id; see docs/decisions/0009-usp-transports.md).

* :class:`CredentialStore` is the seam: ``await store.lookup(endpoint_id)`` gives a
  :class:`SecretVerifier`, or None for an unknown endpoint.  The device registry
  provides the database implementation; :class:`InMemoryCredentialStore` and
  :class:`JsonFileCredentialStore` (development, simulator, tests) live here.
* :func:`hash_secret` makes a :class:`SecretHash` with scrypt (RFC 7914) and a random
  salt; :meth:`SecretHash.verify` compares in constant time.  Hashes are text
  (``scrypt$<log2 n>$<r>$<p>$<salt>$<digest>``), so any store can keep them.

Verification costs tens of milliseconds and ~16 MiB by design: call it off the event
loop (``asyncio.to_thread``).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import secrets
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from doorstep.core.errors import InvalidInputError
from doorstep.usp.endpoint import is_valid_endpoint_id

DEFAULT_LOG_N = 14
"""scrypt cost: n = 2**14, r = 8 (16 MiB, tens of ms): the interactive-login setting."""
MIN_SECRET_LENGTH = 16
_R, _P, _DKLEN = 8, 1, 32
_SCHEME = "scrypt"


class SecretVerifier(Protocol):
    """Checks a presented secret; blocking and deliberately slow."""

    def verify(self, secret: str) -> bool:
        """Whether ``secret`` is the device's secret."""
        ...


class CredentialStore(Protocol):
    """Endpoint id -> verifier of its secret; None means the endpoint is unknown."""

    async def lookup(self, endpoint_id: str) -> SecretVerifier | None:
        """The verifier of ``endpoint_id``'s secret, or None when it is not registered."""
        ...


@dataclass(frozen=True, slots=True)
class SecretHash:
    """An scrypt hash of a device secret (the secret itself is never kept)."""

    log_n: int
    r: int
    p: int
    salt: bytes = field(repr=False)
    digest: bytes = field(repr=False)

    def verify(self, secret: str) -> bool:
        """Constant-time comparison of scrypt(``secret``) with the stored digest."""
        candidate = _scrypt(
            secret, self.salt, log_n=self.log_n, r=self.r, p=self.p, dklen=len(self.digest)
        )
        return hmac.compare_digest(candidate, self.digest)

    def encode(self) -> str:
        """The text form, ``scrypt$<log2 n>$<r>$<p>$<salt b64>$<digest b64>``."""
        salt = base64.b64encode(self.salt).decode()
        digest = base64.b64encode(self.digest).decode()
        return f"{_SCHEME}${self.log_n}${self.r}${self.p}${salt}${digest}"

    @classmethod
    def parse(cls, text: str) -> SecretHash:
        """Read the text form; InvalidInputError names the broken rule, never the text."""
        parts = text.split("$")
        try:
            if len(parts) != 6 or parts[0] != _SCHEME:
                raise ValueError
            log_n, r, p = int(parts[1]), int(parts[2]), int(parts[3])
            salt = base64.b64decode(parts[4], validate=True)
            digest = base64.b64decode(parts[5], validate=True)
        except ValueError:
            raise _bad_hash() from None
        if not (10 <= log_n <= 20 and 1 <= r <= 32 and 1 <= p <= 16 and salt and digest):
            raise _bad_hash()
        return cls(log_n, r, p, salt, digest)


def hash_secret(secret: str, *, log_n: int = DEFAULT_LOG_N) -> SecretHash:
    """Hash ``secret`` with a fresh random salt (``log_n`` < 14 only for simulators)."""
    if len(secret) < MIN_SECRET_LENGTH:
        raise InvalidInputError(
            "device secret too short",
            errors=[{"field": "secret", "rule": f"at least {MIN_SECRET_LENGTH} characters"}],
        )
    salt = os.urandom(16)
    digest = _scrypt(secret, salt, log_n=log_n, r=_R, p=_P, dklen=_DKLEN)
    return SecretHash(log_n, _R, _P, salt, digest)


def new_device_secret() -> str:
    """A fresh random device secret (32 URL-safe characters, 192 bits)."""
    return secrets.token_urlsafe(24)


def _scrypt(secret: str, salt: bytes, *, log_n: int, r: int, p: int, dklen: int) -> bytes:
    n = 1 << log_n
    return hashlib.scrypt(
        secret.encode("utf-8"), salt=salt, n=n, r=r, p=p, dklen=dklen, maxmem=256 * n * r * p
    )


def _bad_hash() -> InvalidInputError:
    return InvalidInputError(
        "invalid secret hash", errors=[{"field": "secret_hash", "rule": "scrypt$n$r$p$salt$hash"}]
    )


class InMemoryCredentialStore:
    """Credentials in a dict: for tests, the simulator and single-process development."""

    def __init__(self, hashes: Mapping[str, SecretHash] | None = None) -> None:
        self._hashes: dict[str, SecretHash] = dict(hashes or {})

    def add(
        self, endpoint_id: str, secret: str | None = None, *, secret_hash: SecretHash | None = None
    ) -> None:
        """Register ``endpoint_id`` with its ``secret`` (hashed here) or a ready hash."""
        if not is_valid_endpoint_id(endpoint_id):
            raise InvalidInputError(
                "invalid endpoint id", errors=[{"field": "endpoint_id", "rule": "USP Endpoint ID"}]
            )
        if secret_hash is None:
            if secret is None:
                raise InvalidInputError("a secret or its hash is required")
            secret_hash = hash_secret(secret)
        self._hashes[endpoint_id] = secret_hash

    def remove(self, endpoint_id: str) -> None:
        """Forget ``endpoint_id``; its device is refused from now on."""
        self._hashes.pop(endpoint_id, None)

    def __contains__(self, endpoint_id: object) -> bool:
        return endpoint_id in self._hashes

    def __len__(self) -> int:
        return len(self._hashes)

    async def lookup(self, endpoint_id: str) -> SecretVerifier | None:
        """The stored hash of ``endpoint_id``, or None."""
        return self._hashes.get(endpoint_id)

    def to_json(self) -> str:
        """``{"version": 1, "endpoints": {endpoint id: hash text}}``."""
        endpoints = {eid: h.encode() for eid, h in sorted(self._hashes.items())}
        return json.dumps({"version": 1, "endpoints": endpoints}, indent=1)

    @classmethod
    def from_json(cls, text: str) -> InMemoryCredentialStore:
        """Read what :meth:`to_json` wrote."""
        try:
            data = json.loads(text)
            entries = data["endpoints"]
            if data.get("version") != 1 or not isinstance(entries, dict):
                raise ValueError
        except (ValueError, KeyError, TypeError, AttributeError):
            raise InvalidInputError("not a Doorstep credentials file") from None
        store = cls()
        for endpoint_id, text_hash in entries.items():
            store.add(str(endpoint_id), secret_hash=SecretHash.parse(str(text_hash)))
        return store

    def save(self, path: Path) -> None:
        """Write the hashes to ``path`` (0600, replaced atomically)."""
        write_credentials_file(path, self._hashes.items())


def write_credentials_file(path: Path, entries: Iterable[tuple[str, SecretHash]]) -> None:
    """Write ``(endpoint id, hash)`` pairs as a credentials file, 0600, atomically."""
    store = InMemoryCredentialStore(dict(entries))
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(path.name + ".tmp")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
        handle.write(store.to_json())
    temporary.replace(path)


class JsonFileCredentialStore:
    """A credentials file, re-read whenever it changes (the simulator writes one).

    A missing file is an empty store: every endpoint is unknown.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self._stamp: tuple[int, int] | None = None
        self._store = InMemoryCredentialStore()

    async def lookup(self, endpoint_id: str) -> SecretVerifier | None:
        """The hash of ``endpoint_id`` from the current file, or None."""
        self._refresh()
        return await self._store.lookup(endpoint_id)

    def _refresh(self) -> None:
        try:
            stat = self.path.stat()
        except FileNotFoundError:
            self._stamp, self._store = None, InMemoryCredentialStore()
            return
        stamp = (stat.st_mtime_ns, stat.st_size)
        if stamp != self._stamp:
            self._store = InMemoryCredentialStore.from_json(self.path.read_text(encoding="utf-8"))
            self._stamp = stamp
