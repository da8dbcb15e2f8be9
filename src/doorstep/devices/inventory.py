"""The operator's inventory: provisioning devices before anyone owns them.

At manufacture every unit gets an endpoint id, its own transport secret and a
claim secret (:mod:`.claims`); the factory keeps them in a *factory file*, one JSON
object per line::

    {"endpoint_id": "os::02D00C-ABC0000001", "secret": "…", "claim_code": "ABCDE-…"}

``doorstep devices import FILE`` (:func:`import_records`) stores, per unit, only:
a keyed hash of the endpoint id (:func:`endpoint_key`), the scrypt hash of the
transport secret and the SHA-256 of the claim secret.  Importing is idempotent: a
unit already in the inventory is left as it is.

The simulator writes the same hashes into its development credentials file
(``doorstep agent-sim``); :class:`~doorstep.devices.credentials.DatabaseCredentialStore`
imports a unit from there on its first sign-in, in development only.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from doorstep.core.errors import InvalidInputError
from doorstep.core.settings import Settings
from doorstep.devices.models import Device, DeviceRegistration
from doorstep.usp.claims import claim_digest, new_claim_code
from doorstep.usp.credentials import SecretHash, hash_secret, new_device_secret
from doorstep.usp.endpoint import is_valid_endpoint_id

_KEY_CONTEXT = b"doorstep-device-endpoint:"


def installation_key(settings: Settings) -> bytes:
    """The key of :func:`endpoint_key`: the installation's secret key."""
    return settings.secret_key.get_secret_value().encode("utf-8")


def endpoint_key(key: bytes, endpoint_id: str) -> bytes:
    """HMAC-SHA256 of ``endpoint_id``: how the inventory finds a unit without storing its id."""
    return hmac.new(key, _KEY_CONTEXT + endpoint_id.encode("utf-8"), hashlib.sha256).digest()


@dataclass(frozen=True, slots=True)
class FactoryRecord:
    """What the factory knows of one unit (the secrets never reach the database)."""

    endpoint_id: str
    secret: str = field(repr=False)
    claim_code: str = field(repr=False)


def new_factory_record(endpoint_id: str) -> FactoryRecord:
    """A unit with fresh random transport and claim secrets."""
    return FactoryRecord(endpoint_id, new_device_secret(), new_claim_code())


def provision(
    session: Session,
    *,
    key: bytes,
    endpoint_id: str,
    secret_hash: SecretHash,
    claim_hash: bytes,
    now: datetime,
) -> uuid.UUID | None:
    """Add one unit to the inventory; its new id, or None when it is already there."""
    if not is_valid_endpoint_id(endpoint_id):
        raise InvalidInputError(
            "invalid endpoint id", errors=[{"field": "endpoint_id", "rule": "USP Endpoint ID"}]
        )
    statement = (
        insert(Device)
        .values(
            id=uuid.uuid4(),
            endpoint_key=endpoint_key(key, endpoint_id),
            secret_hash=secret_hash.encode(),
            claim_hash=claim_hash,
            provisioned_at=now,
        )
        .on_conflict_do_nothing()
        .returning(Device.id)
    )
    return session.execute(statement).scalar_one_or_none()


def import_records(
    session: Session,
    records: Iterable[FactoryRecord],
    *,
    key: bytes,
    now: datetime,
    log_n: int | None = None,
) -> tuple[int, int]:
    """Provision every record; ``(added, already there)``.  ``log_n`` < 14 for simulators."""
    added = existing = 0
    for record in records:
        secret_hash = (
            hash_secret(record.secret) if log_n is None else hash_secret(record.secret, log_n=log_n)
        )
        new_id = provision(
            session,
            key=key,
            endpoint_id=record.endpoint_id,
            secret_hash=secret_hash,
            claim_hash=claim_digest(record.claim_code),
            now=now,
        )
        if new_id is None:
            existing += 1
        else:
            added += 1
    return added, existing


def read_factory_file(path: Path) -> Iterator[FactoryRecord]:
    """The records of a factory file; InvalidInputError names the line, never its content."""
    with path.open(encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                data = json.loads(line)
                record = FactoryRecord(
                    str(data["endpoint_id"]), str(data["secret"]), str(data["claim_code"])
                )
            except (ValueError, KeyError, TypeError):
                raise InvalidInputError(
                    f"factory file line {number} is not a device record",
                    errors=[{"field": f"line {number}", "rule": "endpoint_id, secret, claim_code"}],
                ) from None
            yield record


def find_device_id(session: Session, *, key: bytes, endpoint_id: str) -> uuid.UUID | None:
    """The inventory id of the unit ``endpoint_id``, or None when it is not provisioned.

    Found by its keyed hash; a registration holding the plain id is the fallback, so a
    unit still registered keeps working after the installation's secret key changed.
    """
    found = session.execute(
        sa.select(Device.id).where(Device.endpoint_key == endpoint_key(key, endpoint_id))
    ).scalar_one_or_none()
    if found is None:
        found = session.execute(
            sa.select(DeviceRegistration.device_id).where(
                DeviceRegistration.endpoint_id == endpoint_id
            )
        ).scalar_one_or_none()
    return found


def secret_hash_of(session: Session, *, key: bytes, endpoint_id: str) -> SecretHash | None:
    """The stored hash of the unit's transport secret, or None for an unknown endpoint."""
    device_id = find_device_id(session, key=key, endpoint_id=endpoint_id)
    if device_id is None:
        return None
    text = session.execute(sa.select(Device.secret_hash).where(Device.id == device_id)).scalar_one()
    return SecretHash.parse(text)
