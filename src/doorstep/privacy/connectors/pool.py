"""Live connections to the connected systems, kept per process: the connector pool.

Building a connector for every task cost more than the task itself (a new
PostgreSQL connection, a fresh backend planning with cold caches, a new TCP
connection, the secret unsealed each time: docs/benchmarks.md).  So each process
keeps, per declared system, one **entry**, built at the first task and shared by
every later task of that system in every thread:

* ``sql`` — one pooled :class:`~.sql.SqlConnector` (an engine holding up to
  :data:`~.sql.POOL_SIZE` connections, each checked before use);
* ``http`` — one :class:`httpx.Client` with keep-alive; each task still gets its
  own light :class:`~.http.HttpConnector` carrying the task's idempotency key;
* ``manual`` — nothing to keep.

An entry is used only while both of these are unchanged; otherwise a new one is
built and the old one's connections are released (an HTTP client only after a
call that may still be using it has timed out):

* the system's declaration (the pack, with ``DOORSTEP_SYSTEM_URLS`` applied):
  url, timeout, tables, elements;
* its stored credential (:class:`~.credentials.StoredSecret`), read on every call
  with one indexed select in the caller's transaction, so a secret set or removed
  with ``doorstep connectors credentials`` governs the very next task.  The secret
  is unsealed only when an entry is built: once per process and credential version.

And it serves only a keyring known to open that credential: another keyring object
(a process may build several services, each with its own) must open it to the
same secret first, and one that cannot gets the ``credentials`` failure, never the
secret another keyring opened.

Exactly-once is untouched: a pooled connection changes where a statement runs,
not what it does, and each task keeps its own idempotency key.  We accept that a
process keeps the plaintext of a secret in memory while its entry lives, because
the connector held it for the length of every task before; it is never logged
and nothing here shows it (``repr`` names the system only).  A child process
forked after entries were built starts with none (connections are not shared
across processes).
"""

from __future__ import annotations

import hmac
import os
import threading
from collections.abc import Callable
from dataclasses import dataclass, field

import httpx
from sqlalchemy.orm import Session

from doorstep.keys.interfaces import Keyring
from doorstep.privacy.connectors.base import ConnectorError
from doorstep.privacy.connectors.credentials import (
    CredentialError,
    StoredSecret,
    open_secret,
    stored_secret,
)
from doorstep.privacy.connectors.http import HttpConnector, client_for
from doorstep.privacy.connectors.manual import ManualConnector
from doorstep.privacy.connectors.sql import SqlConnector
from doorstep.privacy.datamap.systems import ConnectedSystem, SystemKind

Built = SqlConnector | HttpConnector | ManualConnector


@dataclass(slots=True, repr=False)
class _Entry:
    """What one process keeps for one system, and what it was built from.

    ``keyrings`` are the keyring objects known to open ``stored`` to ``secret``
    (a process may hold several: each :class:`~doorstep.wiring.Services` has its own).
    """

    system: ConnectedSystem
    stored: StoredSecret | None
    secret: str | None
    keyrings: list[Keyring] = field(default_factory=list)
    sql: SqlConnector | None = None
    client: httpx.Client | None = None

    def built_from(self, system: ConnectedSystem, stored: StoredSecret | None) -> bool:
        return self.stored == stored and (self.system is system or self.system == system)

    def opens_for(self, keyring: Keyring) -> bool:
        """Whether ``keyring`` is one this entry's secret was opened with, or opens it to
        the same secret now (then remembered); a keyring that cannot open it raises."""
        if self.stored is None or any(known is keyring for known in self.keyrings):
            return True
        if not hmac.compare_digest(
            (_opened(keyring, self.system, self.stored) or "").encode(),
            (self.secret or "").encode(),
        ):
            return False
        self.keyrings.append(keyring)
        return True

    def release(self, *, later: bool = False) -> None:
        """Close the connections; ``later``: the HTTP client only once a call that may
        still be using it has timed out (a pooled SQL connection still checked out is
        closed when it is returned)."""
        if self.sql is not None:
            self.sql.dispose()
        if self.client is not None:
            if later:
                timer = threading.Timer(2 * self.system.timeout_seconds + 1, self.client.close)
                timer.daemon = True
                timer.start()
            else:
                self.client.close()

    def __repr__(self) -> str:  # never the secret
        return f"_Entry(system={self.system.key!r})"


def _opened(keyring: Keyring, system: ConnectedSystem, stored: StoredSecret | None) -> str | None:
    if stored is None:
        return None
    try:
        return open_secret(keyring, stored)
    except CredentialError:
        raise ConnectorError(
            f"system {system.key}: its credentials do not open", reason="credentials"
        ) from None


class ConnectorPool:
    """Per-process entries by system key (see the module docstring); thread-safe."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._entries: dict[str, _Entry] = {}

    def connector(
        self,
        session: Session,
        keyring: Keyring,
        system: ConnectedSystem,
        *,
        task_key: str,
        now: Callable[[], int],
    ) -> Built:
        """The connector of ``system`` for the task ``task_key``, on the process's live
        connections; its ``close()`` keeps them for the next task."""
        if system.kind is SystemKind.MANUAL:
            return ManualConnector(system)
        entry = self._entry(keyring, system, stored_secret(session, system.key))
        if entry.sql is not None:
            return entry.sql
        if not entry.secret:
            raise ConnectorError(f"system {system.key}: no secret is stored", reason="credentials")
        return HttpConnector(
            system, secret=entry.secret, idempotency_key=task_key, now=now, client=entry.client
        )

    def _entry(
        self, keyring: Keyring, system: ConnectedSystem, stored: StoredSecret | None
    ) -> _Entry:
        with self._lock:
            found = self._entries.get(system.key)
            if found is not None and found.built_from(system, stored) and found.opens_for(keyring):
                return found
            made = _Entry(system, stored, _opened(keyring, system, stored), [keyring])
            if system.kind is SystemKind.SQL:
                made.sql = SqlConnector(system, password=made.secret, pooled=True)
            else:
                made.client = client_for(system)
            self._entries[system.key] = made
        if found is not None:
            found.release(later=True)  # a task still using it finishes on it
        return made

    def clear(self) -> None:
        """Release every entry (tests, shutdown); the next task builds afresh."""
        with self._lock:
            entries, self._entries = list(self._entries.values()), {}
        for entry in entries:
            entry.release()

    def forget(self) -> None:
        """Drop every entry without closing its connections (in a forked child: they are
        the parent's)."""
        entries, self._entries = list(self._entries.values()), {}
        self._lock = threading.Lock()
        for entry in entries:
            if entry.sql is not None:
                entry.sql.dispose(close=False)

    def __len__(self) -> int:
        return len(self._entries)


#: The process's pool (``connector_for`` uses it).
POOL = ConnectorPool()
os.register_at_fork(after_in_child=POOL.forget)
