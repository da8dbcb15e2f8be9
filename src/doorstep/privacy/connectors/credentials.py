"""Connector credentials: set, read and remove a system's secret, stored encrypted.

Envelope encryption without a data subject: each secret gets a fresh 256-bit
data key; the keyring wraps it under its active KEK, bound to a stable id of
the system (``uuid5`` of its key), and the secret is sealed with AES-GCM bound
to the system's key as associated data — a sealed secret copied to another
system's row does not open.  Only the sealed bytes and the wrapped key reach
the database; the plaintext is returned to the connector that asks and never
logged, audited or put in an error (errors name the system only).

We accept that retiring a KEK (``doorstep keys retire``) does not re-wrap these
rows: after a rotation, set the credentials again (docs/connectors.md).
"""

from __future__ import annotations

import os
import uuid
from dataclasses import dataclass

import sqlalchemy as sa
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from doorstep.core.clock import Clock
from doorstep.keys.interfaces import Keyring, WrappedKey
from doorstep.privacy.connectors.models import ConnectorCredential

_NAMESPACE = uuid.UUID("6f1d3c2e-9b7a-4e55-8d0b-2c1f0a9e7d41")
_VERSION = 1
_NONCE = 12


class CredentialError(Exception):
    """A stored secret could not be opened (wrong keyring, changed bytes); names the system only."""


def system_key_id(system: str) -> uuid.UUID:
    """The stable id the keyring binds a system's wrapped data key to."""
    return uuid.uuid5(_NAMESPACE, f"connector:{system}")


def _aad(system: str) -> bytes:
    return f"connector_credentials.secret:{system}".encode()


def set_secret(session: Session, keyring: Keyring, clock: Clock, system: str, secret: str) -> None:
    """Store ``secret`` for ``system`` (replacing any), sealed; in the caller's transaction."""
    dek = AESGCM.generate_key(bit_length=256)
    wrapped = keyring.wrap(system_key_id(system), _VERSION, dek)
    nonce = os.urandom(_NONCE)
    sealed = nonce + AESGCM(dek).encrypt(nonce, secret.encode("utf-8"), _aad(system))
    values = {
        "system": system,
        "kek_id": wrapped.kek_id,
        "wrapped_key": wrapped.blob,
        "secret": sealed,
        "set_at": clock.now(),
    }
    session.execute(
        insert(ConnectorCredential)
        .values(values)
        .on_conflict_do_update(index_elements=["system"], set_=values)
    )


@dataclass(frozen=True, slots=True)
class StoredSecret:
    """A system's secret as stored: sealed, so nothing here opens without the keyring.

    Two reads of an unchanged row are equal; setting the secret again (even to the
    same value: a fresh data key and nonce) makes them differ — the connector pool
    (:mod:`.pool`) keys its live connections by it.
    """

    system: str
    kek_id: str
    wrapped_key: bytes
    sealed: bytes

    def __repr__(self) -> str:  # never the sealed bytes
        return f"StoredSecret(system={self.system!r}, kek_id={self.kek_id!r})"


def stored_secret(session: Session, system: str) -> StoredSecret | None:
    """The sealed secret of ``system`` as stored (one indexed read), or None."""
    row = session.execute(
        sa.select(
            ConnectorCredential.kek_id, ConnectorCredential.wrapped_key, ConnectorCredential.secret
        ).where(ConnectorCredential.system == system)
    ).one_or_none()
    if row is None:
        return None
    return StoredSecret(system, row.kek_id, bytes(row.wrapped_key), bytes(row.secret))


def open_secret(keyring: Keyring, stored: StoredSecret) -> str:
    """The plaintext of ``stored``; :class:`CredentialError` when it does not open."""
    system = stored.system
    try:
        dek = keyring.unwrap(
            WrappedKey(stored.kek_id, stored.wrapped_key), system_key_id(system), _VERSION
        )
        plain = AESGCM(dek).decrypt(stored.sealed[:_NONCE], stored.sealed[_NONCE:], _aad(system))
    except (InvalidTag, ValueError) as exc:
        raise CredentialError(f"the credentials of system {system!r} do not open") from exc
    except Exception as exc:  # the keyring's DecryptionError, KeyringError …
        raise CredentialError(f"the credentials of system {system!r} do not open") from exc
    return plain.decode("utf-8")


def get_secret(session: Session, keyring: Keyring, system: str) -> str | None:
    """The secret of ``system``, or None when none is stored."""
    stored = stored_secret(session, system)
    return None if stored is None else open_secret(keyring, stored)


def remove_secret(session: Session, system: str) -> bool:
    """Delete the secret of ``system``; whether there was one."""
    result = session.execute(
        sa.delete(ConnectorCredential).where(ConnectorCredential.system == system)
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]
