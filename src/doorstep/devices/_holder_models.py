"""Which ``serve`` replica holds each device's WebSocket session (decision 0047).

* ``device_relay_replicas``: one row per running ``serve`` replica with the relay on,
  whose lease the replica renews while it runs (:mod:`doorstep.devices.holders`); a
  replica gone for a lease more is swept with its holdings.
* ``device_session_holders``: one row per device whose WebSocket session a replica
  holds now, written when the session opens and deleted when it ends.

Both name units of the inventory and processes, never a person, and keep no history:
the row of a session that ended is gone.
"""

from __future__ import annotations

import uuid
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from doorstep.core.models import Base
from doorstep.vocabulary import not_personal

_REPLICA = "random name a serve process took at start-up (its relay channel); names a process"


class RelayReplica(Base):
    """A running ``serve`` replica that relays requests, and until when it counts as alive."""

    __tablename__ = "device_relay_replicas"

    replica: Mapped[str] = mapped_column(sa.Text, primary_key=True, info=not_personal(_REPLICA))
    lease_until: Mapped[datetime] = mapped_column(
        info=not_personal("when the replica counts as gone unless it renews its lease")
    )


class SessionHolder(Base):
    """The replica holding one device's WebSocket session now."""

    __tablename__ = "device_session_holders"

    device_id: Mapped[uuid.UUID] = mapped_column(
        sa.ForeignKey("devices.id", ondelete="CASCADE"),
        primary_key=True,
        info=not_personal("the inventory id of the unit (see devices.id)"),
    )
    replica: Mapped[str] = mapped_column(
        sa.Text,
        sa.ForeignKey("device_relay_replicas.replica", ondelete="CASCADE"),
        info=not_personal(_REPLICA),
    )

    __table_args__ = (sa.Index("ix_device_session_holders_replica", "replica"),)
