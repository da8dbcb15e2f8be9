"""Online and offline: what starts (and restarts) the two years of CPE-I.ii.1.c.

The policy defines neither "offline" nor how the two years count (X-15).  Doorstep's
reading, the stricter one:

* a device is **online** while it sends USP traffic (any accepted Record) or holds
  an open WebSocket session (the process holding it refreshes ``last_seen`` every
  :func:`heartbeat_interval`);
* it is **offline** once it has been silent for ``device_silence_timeout_seconds``
  (:func:`mark_silent`, run every minute by the ``devices.presence`` job), its
  session ended (:func:`went_offline`), or the ``serve`` replica holding its
  WebSocket session stopped without a word (:func:`holders_gone`, decision 0047);
* ``offline_since`` is then its **last contact**, not the moment the silence was
  noticed: the two years count from there (plus ``device_offline_after_seconds``,
  default 0), so a promise of "at most" is kept;
* any contact clears ``offline_since`` (the clock restarts; see
  :func:`doorstep.devices.registry.record_contact`).

The retention engine anonymises the record when ``offline_since`` is two years old
(the binding on ``device_registrations``); :func:`doorstep.devices.binding.end_anonymised_bindings`
then ends the link to the account.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import Session

from doorstep.core.settings import Settings
from doorstep.devices.models import DeviceRegistration, RelayReplica, SessionHolder
from doorstep.usp.controller import WEBSOCKET


def heartbeat_interval(settings: Settings) -> float:
    """Seconds between refreshes of ``last_seen`` for open WebSocket sessions."""
    return max(5.0, settings.device_silence_timeout_seconds / 3)


def went_offline(session: Session, endpoint_id: str, *, now: datetime) -> None:
    """The device's session ended: offline since now (if it was online).

    Not while another live replica holds a WebSocket session of the device (it
    reconnected there before this process noticed; decision 0047): the process whose
    session ended has already released its own claim.
    """
    held = (
        sa.select(SessionHolder.device_id)
        .join(RelayReplica, RelayReplica.replica == SessionHolder.replica)
        .where(
            SessionHolder.device_id == DeviceRegistration.device_id,
            RelayReplica.lease_until > now,
        )
        .exists()
    )
    session.execute(
        sa.update(DeviceRegistration)
        .where(DeviceRegistration.endpoint_id == endpoint_id, DeviceRegistration.online, ~held)
        .values(online=False, last_seen=now, offline_since=now)
    )


def holders_gone(session: Session | sa.Connection, replicas: Collection[str]) -> int:
    """These replicas stopped without a word: their WebSocket devices are offline; how many.

    ``offline_since`` is each device's last contact (as for silence): the replica that
    refreshed it is gone, so nothing later is known.
    """
    held = sa.select(SessionHolder.device_id).where(SessionHolder.replica.in_(list(replicas)))
    result = session.execute(
        sa.update(DeviceRegistration)
        .where(
            DeviceRegistration.device_id.in_(held),
            DeviceRegistration.online,
            DeviceRegistration.mtp == WEBSOCKET,
        )
        .values(online=False, offline_since=DeviceRegistration.last_seen)
    )
    return int(getattr(result, "rowcount", 0))


def touch(session: Session, endpoint_ids: Collection[str], *, now: datetime) -> int:
    """These devices hold an open session here: online, ``last_seen`` now."""
    if not endpoint_ids:
        return 0
    result = session.execute(
        sa.update(DeviceRegistration)
        .where(DeviceRegistration.endpoint_id.in_(list(endpoint_ids)))
        .values(last_seen=now, online=True, offline_since=None)
    )
    return int(getattr(result, "rowcount", 0))


def mark_silent(session: Session, *, now: datetime, timeout: timedelta) -> int:
    """Mark offline every online device silent for ``timeout``; how many.

    ``offline_since`` becomes the device's last contact.  Set-based, idempotent: a
    device already offline is not touched again.
    """
    result = session.execute(
        sa.update(DeviceRegistration)
        .where(DeviceRegistration.online, DeviceRegistration.last_seen <= now - timeout)
        .values(online=False, offline_since=DeviceRegistration.last_seen)
    )
    return int(getattr(result, "rowcount", 0))
