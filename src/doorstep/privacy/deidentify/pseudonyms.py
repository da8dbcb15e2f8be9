"""Keyed pseudonyms: the same identifier under the same key always gives the same token.

A token is ``<kind>-p<generation>-<16 hex digits>``: the first 64 bits of
HMAC-SHA-256 over the kind and the identifier's normalised form
(:func:`~doorstep.privacy.deidentify.kinds.normalised`).  Without the key a
token cannot be turned back into the identifier, nor linked to tokens made
under another key.  Keys are derived from the deployment secret, per recipient
and generation (:meth:`PseudonymKey.derive`): two recipients cannot join their
data on pseudonyms, and raising the generation (the ``pseudonym_generation``
argument, kept by the operator) rotates every pseudonym at once; the generation
is in the token, so a recipient sees that a rotation happened.

We accept 64 bits because a token only has to keep identifiers of one export
apart (a collision among a billion distinct identifiers is about one in 36,000),
and a shorter token keeps log lines readable.
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass, field

from doorstep.privacy.deidentify.kinds import Kind, normalised

#: Distinct identifiers remembered per key before the cache is emptied (bounded memory).
CACHE_LIMIT = 1 << 16


@dataclass(frozen=True)
class PseudonymKey:
    """A pseudonymisation key; never printed (``repr`` shows the generation only)."""

    secret: bytes = field(repr=False)
    generation: int = 1

    @classmethod
    def derive(cls, deployment_secret: str, *, recipient: str, generation: int = 1) -> PseudonymKey:
        """The key of ``recipient`` at ``generation``, from the deployment secret."""
        if generation < 1:
            raise ValueError("a pseudonym generation is a positive integer")
        label = f"doorstep.deidentify/{recipient}/{generation}".encode()
        secret = hmac.digest(deployment_secret.encode("utf-8"), label, "sha256")
        return cls(secret=secret, generation=generation)


class Pseudonymiser:
    """Turns identifiers into tokens under one key, remembering recent ones."""

    def __init__(self, key: PseudonymKey) -> None:
        self._secret = key.secret
        self._prefix = {kind: f"{kind.value}-p{key.generation}-".encode() for kind in Kind}
        self._cache: dict[tuple[Kind, bytes], bytes] = {}

    def token(self, kind: Kind, value: bytes) -> bytes:
        """The pseudonym of ``value`` (an identifier of ``kind``, as found in the input)."""
        cached = self._cache.get((kind, value))
        if cached is not None:
            return cached
        message = kind.value.encode() + b"\x00" + normalised(kind, value)
        digest = hmac.digest(self._secret, message, "sha256")
        token = self._prefix[kind] + digest[:8].hex().encode()
        if len(self._cache) >= CACHE_LIMIT:
            self._cache.clear()
        self._cache[(kind, value)] = token
        return token
