"""Which replica holds which device's WebSocket session, in PostgreSQL (decision 0047).

:class:`HolderBook` is the database side of :class:`~doorstep.devices.relay.ReplicaRelay`:
synchronous statements, each in a short transaction of its own (the relay runs them on
worker threads).

* A replica **registers** itself with a lease (``device_relay_replicas``) and renews it
  every third of ``device_relay_lease_seconds``; it **claims** a device when a session
  opens (``device_session_holders``: the newest session wins, as within one process)
  and **releases** it when the session ends.
* A replica that is gone a lease more (its lease lapsed before ``now - lease``) is
  **swept** by any other: its devices are marked offline since their last contact
  (:func:`doorstep.devices.presence.holders_gone`), then it goes with its rows.
* :meth:`HolderBook.relay` sends the parts of a Record to the replica holding the
  device, in one statement that finds it and NOTIFYs its channel, or sends nothing
  when no *live* replica holds it: its lease holds and its listening connection is
  there (``pg_stat_activity``, by the application name the relay gives it), so a
  killed replica is known at once, a partitioned one when its lease lapses.

Devices are found by the inventory's keyed hash of the endpoint id
(:func:`~doorstep.devices.inventory.endpoint_key`): the id itself travels only inside
the relayed Record, never as a parameter or in a row.
"""

from __future__ import annotations

import uuid
from collections.abc import Collection, Sequence
from datetime import timedelta

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert

from doorstep.core.runtime import Runtime
from doorstep.devices import presence
from doorstep.devices.inventory import endpoint_key, installation_key
from doorstep.devices.models import Device, RelayReplica, SessionHolder

CHANNEL_PREFIX = "doorstep_usp_relay_"
"""A replica LISTENs on this prefix and its name (lower-case hex: a plain identifier)."""
APPLICATION_PREFIX = "doorstep-relay-"
"""The application name of a replica's listening connection: this prefix and its name."""

_RELAY = sa.text(
    """
    SELECT pg_notify(:channel || h.replica, p.payload)
    FROM devices d
    JOIN device_session_holders h ON h.device_id = d.id
    JOIN device_relay_replicas r ON r.replica = h.replica
    CROSS JOIN unnest(CAST(:payloads AS text[])) AS p(payload)
    WHERE d.endpoint_key = :key
      AND h.replica <> :me
      AND r.lease_until > :now
      AND EXISTS (
        SELECT 1 FROM pg_stat_activity a
        WHERE a.datname = current_database() AND a.application_name = :application || h.replica
      )
    """
)
_TELL = sa.text("SELECT pg_notify(:channel, p) FROM unnest(CAST(:payloads AS text[])) AS p")
_NO_FLUSH = sa.text("SET LOCAL synchronous_commit = off")
"""A notification is not durable anyway (gone at a restart): its commit need not wait for
the disk, so a relayed request does not wait for two WAL flushes."""


class HolderBook:
    """The statements of one replica (``replica``) on the holder tables.

    Each runs on a connection of its own from the engine, outside any caller's
    transaction (the relay is infrastructure of the process, like the job queue's
    listener): a claim must be visible to the other replicas at once.
    """

    def __init__(self, runtime: Runtime, replica: str, lease_seconds: float) -> None:
        self._runtime = runtime
        self._key = installation_key(runtime.settings)
        self.replica = replica
        self._lease = timedelta(seconds=lease_seconds)

    def _device(self, endpoint_id: str) -> sa.ScalarSelect[uuid.UUID]:
        key = endpoint_key(self._key, endpoint_id)
        return sa.select(Device.id).where(Device.endpoint_key == key).scalar_subquery()

    def register(self) -> None:
        """This replica is alive for a lease more (its row is made again if it was swept)."""
        until = self._runtime.clock.now() + self._lease
        statement = insert(RelayReplica).values(replica=self.replica, lease_until=until)
        statement = statement.on_conflict_do_update(
            index_elements=[RelayReplica.replica], set_={"lease_until": until}
        )
        with self._runtime.engine.begin() as connection:
            connection.execute(statement)

    def claim(self, endpoint_ids: Collection[str]) -> int:
        """This replica holds these devices' sessions now; how many the inventory knows."""
        if not endpoint_ids:
            return 0
        keys = [endpoint_key(self._key, eid) for eid in endpoint_ids]
        rows = sa.select(Device.id, sa.literal(self.replica)).where(Device.endpoint_key.in_(keys))
        upsert = insert(SessionHolder).from_select(["device_id", "replica"], rows)
        statement = upsert.on_conflict_do_update(
            index_elements=[SessionHolder.device_id], set_={"replica": self.replica}
        ).returning(SessionHolder.device_id)
        with self._runtime.engine.begin() as connection:
            return len(connection.execute(statement).all())

    def release(self, endpoint_id: str) -> None:
        """This replica's session of the device ended (another replica's claim stays)."""
        with self._runtime.engine.begin() as connection:
            connection.execute(
                sa.delete(SessionHolder).where(
                    SessionHolder.device_id == self._device(endpoint_id),
                    SessionHolder.replica == self.replica,
                )
            )

    def renew(self) -> bool:
        """Renew this replica's lease; False when it was swept (its claims went with it)."""
        until = self._runtime.clock.now() + self._lease
        with self._runtime.engine.begin() as connection:
            result = connection.execute(
                sa.update(RelayReplica)
                .where(RelayReplica.replica == self.replica)
                .values(lease_until=until)
            )
            return int(getattr(result, "rowcount", 0)) > 0

    def sweep(self) -> int:
        """Drop the replicas gone a lease more; their devices go offline.  How many went."""
        cutoff = self._runtime.clock.now() - self._lease
        lapsed = (
            sa.select(RelayReplica.replica)
            .where(RelayReplica.lease_until < cutoff)
            .with_for_update(skip_locked=True)
        )
        with self._runtime.engine.begin() as connection:
            names = list(connection.execute(lapsed).scalars())
            if names:
                presence.holders_gone(connection, names)
                connection.execute(sa.delete(RelayReplica).where(RelayReplica.replica.in_(names)))
            return len(names)

    def leave(self) -> None:
        """This replica stops: its lease and claims go (its sessions end with it)."""
        with self._runtime.engine.begin() as connection:
            connection.execute(sa.delete(RelayReplica).where(RelayReplica.replica == self.replica))

    def relay(self, endpoint_id: str, payloads: Sequence[str]) -> bool:
        """NOTIFY the live replica holding the device's session; False when none does."""
        params = {
            "channel": CHANNEL_PREFIX,
            "application": APPLICATION_PREFIX,
            "payloads": list(payloads),
            "key": endpoint_key(self._key, endpoint_id),
            "me": self.replica,
            "now": self._runtime.clock.now(),
        }
        with self._runtime.engine.begin() as connection:
            connection.execute(_NO_FLUSH)
            return len(connection.execute(_RELAY, params).all()) > 0

    def tell(self, replica: str, payloads: Sequence[str]) -> None:
        """NOTIFY ``replica`` (an answer to a request it relayed here)."""
        with self._runtime.engine.begin() as connection:
            connection.execute(_NO_FLUSH)
            connection.execute(
                _TELL, {"channel": CHANNEL_PREFIX + replica, "payloads": list(payloads)}
            )
