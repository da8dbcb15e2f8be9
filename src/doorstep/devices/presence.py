"""Online and offline: what starts (and restarts) the two years of CPE-I.ii.1.c.

The policy defines neither "offline" nor how the two years count (X-15).  Doorstep's
reading, the stricter one:

* a device is **online** while it sends USP traffic (any accepted Record) or holds
  an open WebSocket session (the process holding it refreshes ``last_seen`` every
  :func:`heartbeat_interval`);
* it is **offline** once it has been silent for ``device_silence_timeout_seconds``
  (:func:`mark_silent`, run every minute by the ``devices.presence`` job) or its
  session ended (:func:`went_offline`);
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
from doorstep.devices.models import DeviceRegistration


def heartbeat_interval(settings: Settings) -> float:
    """Seconds between refreshes of ``last_seen`` for open WebSocket sessions."""
    return max(5.0, settings.device_silence_timeout_seconds / 3)


def went_offline(session: Session, endpoint_id: str, *, now: datetime) -> None:
    """The device's session ended: offline since now (if it was online)."""
    session.execute(
        sa.update(DeviceRegistration)
        .where(DeviceRegistration.endpoint_id == endpoint_id, DeviceRegistration.online)
        .values(online=False, last_seen=now, offline_since=now)
    )


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
