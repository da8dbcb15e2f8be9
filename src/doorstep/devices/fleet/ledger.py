"""One executor's database work: each call one short transaction of its own (decision 0038).

:class:`Ledger` binds the functions of :mod:`.records` to one
:class:`~.executor.FleetExecutor`: its random lease owner id, the lease length, the
interval of checks, and the runtime's sessions and clock.  The executor calls its
methods on worker threads (``asyncio.to_thread``); none of them holds a transaction
across a device's answer.
"""

from __future__ import annotations

import secrets
import uuid
from collections.abc import Callable, Mapping
from datetime import timedelta
from typing import Any

from doorstep.core.runtime import Runtime
from doorstep.devices.fleet.handlers.base import Outcome
from doorstep.devices.fleet.records import (
    Claimed,
    Reach,
    mark_sending,
    nudge,
    record_outcome,
    renew,
    requeue,
    take_waiting,
)
from doorstep.devices.inventory import find_device_id, installation_key


class Ledger:
    """The executor's transactions, under its lease owner id."""

    def __init__(self, runtime: Runtime) -> None:
        settings = runtime.settings
        self.runtime = runtime
        self.owner = secrets.token_hex(8)
        """The lease owner id of the executor (random, per process)."""
        self.lease = timedelta(seconds=settings.fleet_lease_seconds)
        self.check_seconds = settings.fleet_check_seconds
        self._key = installation_key(settings)

    def claim(self, claim: Callable[..., list[Claimed]], limit: int, reach: Reach) -> list[Claimed]:
        """Claim up to ``limit`` operations with ``claim`` (due ones, or due checks)."""
        with self.runtime.sessions.begin() as session:
            return claim(
                session,
                owner=self.owner,
                now=self.runtime.clock.now(),
                lease=self.lease,
                limit=limit,
                reach=reach,
            )

    def renew(self, op_ids: list[uuid.UUID]) -> None:
        """Extend the leases of the operations the executor runs."""
        with self.runtime.sessions.begin() as session:
            renew(session, op_ids, owner=self.owner, until=self.runtime.clock.now() + self.lease)

    def device_id(self, endpoint_id: str) -> uuid.UUID | None:
        """The inventory id of the device ``endpoint_id``, if it is known."""
        with self.runtime.sessions() as session:
            return find_device_id(session, key=self._key, endpoint_id=endpoint_id)

    def take(self, device_id: uuid.UUID, endpoint_id: str) -> Claimed | bool:
        """The device's waiting operation, now held; True: one is busy; False: none."""
        with self.runtime.sessions.begin() as session:
            return take_waiting(
                session,
                device_id,
                endpoint_id,
                owner=self.owner,
                now=self.runtime.clock.now(),
                lease=self.lease,
            )

    def nudge(self, device_id: uuid.UUID) -> bool:
        """Make the device's waiting operation due for a check now."""
        with self.runtime.sessions.begin() as session:
            return nudge(session, device_id, now=self.runtime.clock.now())

    def mark(self, op_id: uuid.UUID, step: str, result: Mapping[str, Any]) -> bool:
        """Commit ``step`` (and ``sent_at``) before its message; False: the lease was lost."""
        with self.runtime.sessions.begin() as session:
            return mark_sending(
                session,
                op_id,
                owner=self.owner,
                step=step,
                result=result,
                now=self.runtime.clock.now(),
            )

    def requeue(self, op_id: uuid.UUID) -> None:
        """Nothing was sent: the operation goes back to the queue."""
        with self.runtime.sessions.begin() as session:
            requeue(session, op_id, owner=self.owner)

    def record(self, op_id: uuid.UUID, outcome: Outcome, keep_check: bool) -> None:
        """Record ``outcome`` of the held operation (:func:`.records.record_outcome`)."""
        with self.runtime.sessions.begin() as session:
            record_outcome(
                session,
                op_id,
                outcome,
                owner=self.owner,
                now=self.runtime.clock.now(),
                check_seconds=self.check_seconds,
                keep_check=keep_check,
            )
