"""The USP controller's credential store, on the device inventory.

:class:`DatabaseCredentialStore` implements :class:`doorstep.usp.credentials.CredentialStore`:
``await lookup(endpoint_id)`` gives the scrypt hash of the unit's transport secret,
or None for an endpoint the inventory does not know.  Each look-up is one indexed
query in its own short transaction, on a worker thread (the controller caches found
endpoints for ``known_endpoint_ttl``).

In development the simulator's credentials file (``<data dir>/usp-credentials.json``)
is the second source: a unit found only there, with its claim hash, is imported into
the inventory on its first sign-in, so ``doorstep serve`` and ``doorstep agent-sim``
work together without an import step.  Production has no such file
(:func:`doorstep.usp.config.credentials_path` gives None there).
"""

from __future__ import annotations

import asyncio
import json
import logging
from pathlib import Path

from doorstep.core.errors import InvalidInputError
from doorstep.core.runtime import Runtime
from doorstep.devices.inventory import installation_key, provision, secret_hash_of
from doorstep.usp.credentials import SecretHash, SecretVerifier

log = logging.getLogger("doorstep.devices.credentials")


class DatabaseCredentialStore:
    """Endpoint id -> hash of its transport secret, from the ``devices`` inventory."""

    def __init__(self, runtime: Runtime, *, development_file: Path | None = None) -> None:
        self._runtime = runtime
        self._key = installation_key(runtime.settings)
        self._file = development_file

    async def lookup(self, endpoint_id: str) -> SecretVerifier | None:
        """The verifier of ``endpoint_id``'s secret, or None when it is not provisioned."""
        return await asyncio.to_thread(self.lookup_now, endpoint_id)

    def lookup_now(self, endpoint_id: str) -> SecretHash | None:
        """The blocking look-up (a worker thread's, or a command's)."""
        with self._runtime.sessions.begin() as session:
            found = secret_hash_of(session, key=self._key, endpoint_id=endpoint_id)
            if found is not None or self._file is None:
                return found
            imported = self._from_development_file(endpoint_id)
            if imported is None:
                return None
            secret_hash, claim_hash = imported
            provision(
                session,
                key=self._key,
                endpoint_id=endpoint_id,
                secret_hash=secret_hash,
                claim_hash=claim_hash,
                now=self._runtime.clock.now(),
            )
            log.info("development device imported from the simulator's credentials file")
            return secret_hash

    def _from_development_file(self, endpoint_id: str) -> tuple[SecretHash, bytes] | None:
        """``(secret hash, claim hash)`` of ``endpoint_id`` in the simulator's file, if there."""
        assert self._file is not None
        try:
            data = json.loads(self._file.read_text(encoding="utf-8"))
            secret_text = data["endpoints"].get(endpoint_id)
            claim_text = data.get("claims", {}).get(endpoint_id)
            if not isinstance(secret_text, str) or not isinstance(claim_text, str):
                return None
            return SecretHash.parse(secret_text), bytes.fromhex(claim_text)
        except (OSError, ValueError, KeyError, TypeError, AttributeError, InvalidInputError):
            return None
