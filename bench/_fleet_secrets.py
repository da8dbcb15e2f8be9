"""The fleet's keys and encrypted fields: real envelope encryption, streamed with COPY.

Contract: :func:`write_secrets` gives every subject a data key wrapped by ``keyring``
(one ``subject_keys`` row each, as :class:`doorstep.keys.services.KeyService` creates
them) and writes the rows whose columns are sealed with that key: linked providers
(``account_identities``: 5 % of ordinary accounts, every heavy and look-alike one) and
PPPoE credentials (``device_pppoe``: 10 % of open bindings, all of the heavy and
look-alike subjects').  Wrapping and sealing need Python (AES-GCM under the keyring's
KEK); the rows go to the database through one COPY per table, never one INSERT a row.
It runs on the connection that holds the plan tables (:mod:`._fleet_plan`).
"""

from __future__ import annotations

import secrets
import uuid
from collections.abc import Callable, Iterable
from datetime import timedelta

import psycopg
import sqlalchemy as sa
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from sqlalchemy.engine import Connection

from doorstep.keys import ciphertext
from doorstep.keys.interfaces import Keyring

KEY_VERSION = 1
PROVIDER = "example"

_IDENTITIES = """
SELECT id, n, created_at + (:now - created_at) * pg_temp.f(70, n) FROM fleet_acct
 WHERE role <> 'ordinary' OR pg_temp.h(71, n) % 100 < 5
"""
_PPPOE = """
SELECT pg_temp.u('bo', d), pg_temp.u('s', owner), owner, d, bound_at + interval '5 minutes'
  FROM fleet_dev
 WHERE owner IS NOT NULL AND (owner <= :heavy * 4 OR pg_temp.h(72, d) % 10 = 0)
 ORDER BY bound_at
"""


def _keys(
    connection: psycopg.Connection[tuple[object, ...]], keyring: Keyring
) -> dict[uuid.UUID, bytes]:
    """Wrap a fresh data key for every subject; return the clear keys (kept in memory only)."""
    ids = [row[0] for row in connection.execute("SELECT id FROM subjects ORDER BY created_at")]
    material: dict[uuid.UUID, bytes] = {}
    copy_sql = "COPY subject_keys (subject_id, key_version, kek_id, wrapped_dek) FROM STDIN"
    with connection.cursor().copy(copy_sql) as copy:
        for subject_id in ids:
            assert isinstance(subject_id, uuid.UUID)
            key = AESGCM.generate_key(bit_length=256)
            wrapped = keyring.wrap(subject_id, KEY_VERSION, key)
            copy.write_row((subject_id, KEY_VERSION, wrapped.kek_id, wrapped.blob))
            material[subject_id] = key
    return material


def _sealer(material: dict[uuid.UUID, bytes]) -> Callable[[uuid.UUID, str, str], bytes]:
    """``seal(subject, context, text)`` as KeyService.encrypt would (key version 1)."""
    cache: dict[uuid.UUID, AESGCM] = {}

    def seal(subject_id: uuid.UUID, context: str, plaintext: str) -> bytes:
        aead = cache.get(subject_id)
        if aead is None:
            aead = cache[subject_id] = AESGCM(material[subject_id])
        return ciphertext.seal(aead, KEY_VERSION, subject_id, context, plaintext.encode())

    return seal


def _copy(
    connection: psycopg.Connection[tuple[object, ...]], sql: str, rows: Iterable[tuple[object, ...]]
) -> int:
    count = 0
    with connection.cursor().copy(sql) as copy:
        for row in rows:
            copy.write_row(row)
            count += 1
    return count


def write_secrets(
    connection: Connection, keyring: Keyring, params: dict[str, object]
) -> dict[str, int]:
    """Write subject keys, linked providers and PPPoE credentials; return rows per table."""
    raw = connection.connection.driver_connection
    assert isinstance(raw, psycopg.Connection)
    material = _keys(raw, keyring)
    seal = _sealer(material)
    identities = connection.execute(sa.text(_IDENTITIES), params).all()
    linked: Iterable[tuple[object, ...]] = (
        (
            uuid.uuid4(),
            subject_id,
            PROVIDER,
            f"fleet-{uuid.uuid5(uuid.NAMESPACE_OID, str(subject_id)).hex}",
            seal(subject_id, "account_identities.access_token", secrets.token_urlsafe(24)),
            seal(subject_id, "account_identities.refresh_token", secrets.token_urlsafe(24))
            if int(n) % 2
            else None,
            linked_at + timedelta(hours=1),
            "openid email",
            [],
            linked_at,
            "third_party_signin",
        )
        for subject_id, n, linked_at in identities
    )
    counts = {"subject_keys": len(material)}
    counts["account_identities"] = _copy(
        raw,
        "COPY account_identities (id, account_id, provider, provider_subject, access_token, "
        "refresh_token, token_expires_at, scope, share_with, linked_at, source) FROM STDIN",
        linked,
    )
    bindings = connection.execute(sa.text(_PPPOE), params).all()
    pppoe = (
        (
            binding_id,
            1,
            seal(subject_id, "device_pppoe.username", f"pppoe{owner}d{device}@isp.example"),
            seal(subject_id, "device_pppoe.password", secrets.token_urlsafe(12)),
            set_at,
        )
        for binding_id, subject_id, owner, device, set_at in bindings
    )
    counts["device_pppoe"] = _copy(
        raw,
        "COPY device_pppoe (binding_id, interface, username, password, set_at) FROM STDIN",
        pppoe,
    )
    return counts
