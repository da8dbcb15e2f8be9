"""Build the connector of a declared system, with its stored secret.

By default on the process's live connections (:mod:`.pool`: one pooled engine or
HTTP client per system, renewed when the pack or the credential changes):

* ``sql`` — :class:`~.sql.SqlConnector` (the password, when one is stored);
* ``http`` — :class:`~.http.HttpConnector` for one task (its idempotency key);
  a system without a stored secret cannot sign and fails with reason
  ``credentials``;
* ``manual`` — :class:`~.manual.ManualConnector`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy.orm import Session

from doorstep.keys.interfaces import Keyring
from doorstep.privacy.connectors.base import ConnectorError
from doorstep.privacy.connectors.credentials import CredentialError, get_secret
from doorstep.privacy.connectors.http import HttpConnector
from doorstep.privacy.connectors.manual import ManualConnector
from doorstep.privacy.connectors.pool import POOL, Built
from doorstep.privacy.connectors.sql import SqlConnector
from doorstep.privacy.datamap.systems import ConnectedSystem, SystemKind

__all__ = ["Built", "connector_for", "secret_of"]


def secret_of(session: Session, keyring: Keyring, system: ConnectedSystem) -> str | None:
    """The system's stored secret; ConnectorError ``credentials`` when it does not open."""
    try:
        return get_secret(session, keyring, system.key)
    except CredentialError:
        raise ConnectorError(
            f"system {system.key}: its credentials do not open", reason="credentials"
        ) from None


def connector_for(
    session: Session,
    keyring: Keyring,
    system: ConnectedSystem,
    *,
    task_key: str,
    now: Callable[[], int],
    **options: Any,
) -> Built:
    """The connector of ``system`` for the task ``task_key``, on the process's pooled
    connections (:mod:`.pool`); with ``options`` (test seams: an engine, a transport)
    a connector of its own that ``close()`` releases."""
    if not options:
        return POOL.connector(session, keyring, system, task_key=task_key, now=now)
    if system.kind is SystemKind.MANUAL:
        return ManualConnector(system)
    secret = secret_of(session, keyring, system)
    if system.kind is SystemKind.SQL:
        return SqlConnector(system, password=secret, **options)
    if not secret:
        raise ConnectorError(f"system {system.key}: no secret is stored", reason="credentials")
    return HttpConnector(system, secret=secret, idempotency_key=task_key, now=now, **options)
