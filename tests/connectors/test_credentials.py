"""Connector credentials are stored encrypted and open only for their own system."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from doorstep.core.clock import FakeClock
from doorstep.keys.keyring import MemoryKeyring
from doorstep.privacy.connectors.credentials import (
    CredentialError,
    get_secret,
    remove_secret,
    set_secret,
)
from doorstep.privacy.connectors.models import ConnectorCredential


def test_a_secret_is_sealed_at_rest_and_opens_for_its_system(db: Session) -> None:
    keyring = MemoryKeyring()
    clock = FakeClock()
    set_secret(db, keyring, clock, "shop", "correct horse battery staple")
    stored = db.execute(sa.select(ConnectorCredential)).scalars().one()
    assert b"correct horse" not in stored.secret and b"correct horse" not in stored.wrapped_key
    dump = db.execute(
        sa.text("SELECT secret::text, wrapped_key::text FROM connector_credentials")
    ).one()
    assert "correct horse" not in " ".join(dump)
    assert get_secret(db, keyring, "shop") == "correct horse battery staple"
    set_secret(db, keyring, clock, "shop", "rotated")
    assert get_secret(db, keyring, "shop") == "rotated"
    assert get_secret(db, keyring, "tickets") is None


def test_a_secret_copied_to_another_system_or_keyring_does_not_open(db: Session) -> None:
    keyring = MemoryKeyring()
    set_secret(db, keyring, FakeClock(), "shop", "s3cret")
    db.execute(
        sa.insert(ConnectorCredential).from_select(
            ["system", "kek_id", "wrapped_key", "secret", "set_at"],
            sa.select(
                sa.literal("newsletter"),
                ConnectorCredential.kek_id,
                ConnectorCredential.wrapped_key,
                ConnectorCredential.secret,
                ConnectorCredential.set_at,
            ),
        )
    )
    with pytest.raises(CredentialError) as refused:
        get_secret(db, keyring, "newsletter")
    assert "s3cret" not in str(refused.value)
    with pytest.raises(CredentialError):
        get_secret(db, MemoryKeyring(), "shop")
    assert remove_secret(db, "shop") and not remove_secret(db, "shop")
