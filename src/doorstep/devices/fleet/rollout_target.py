"""A rollout's target, resolved once at start and frozen in ``rollout_devices`` with its waves.

* :func:`target_ids`: ``SELECT device_id`` of the target: the members of its group now
  (:func:`~.groups.members`), or the devices matching its filter and/or listed ids; only
  registered devices whose record is not anonymised (one with no endpoint cannot be
  reached).
* :func:`freeze`: keeps the devices the image applies to (its models and the range of
  versions it installs over, decided per distinct model and version by
  :func:`~.images.not_applicable`, so SQL and the executor's handler agree), orders them
  by a deterministic shuffle (MD5 of the rollout id and the device id: the same target
  always gives the same canary, and the canary is spread over the fleet rather than its
  oldest units), and writes one row per device with its wave and position in one
  ``INSERT … SELECT``.  Devices that join the group later are not in it.
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import accumulate
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Session

from doorstep.devices.fleet.groups import fleet_conditions, get_group, members
from doorstep.devices.fleet.image_models import FirmwareImage
from doorstep.devices.fleet.images import not_applicable
from doorstep.devices.fleet.rollout_models import MemberState, Rollout, RolloutDevice
from doorstep.devices.fleet.rollout_plan import TargetFilter, wave_sizes
from doorstep.devices.models import DeviceRegistration


@dataclass(frozen=True, slots=True)
class Frozen:
    """What freezing the target gave: the wave sizes and the devices left out."""

    sizes: list[int]
    excluded: int

    @property
    def total(self) -> int:
        """Devices in the rollout."""
        return sum(self.sizes)


def target_ids(session: Session, rollout: Rollout) -> sa.Select[Any]:
    """``SELECT device_id`` of the rollout's target now (unordered)."""
    if rollout.group_id is not None:
        return members(get_group(session, rollout.group_id).filter).order_by(None)
    target = TargetFilter.from_json(rollout.target_filter or {})
    conditions = fleet_conditions(target.filter)
    if target.device_ids:
        conditions.append(DeviceRegistration.device_id.in_(target.device_ids))
    return sa.select(DeviceRegistration.device_id).where(*conditions)


def _count(session: Session, query: sa.Select[Any]) -> int:
    return int(session.scalar(sa.select(sa.func.count()).select_from(query.subquery())) or 0)


def _applicable(
    session: Session, image: FirmwareImage, target: sa.Select[Any]
) -> sa.ColumnElement[bool]:
    """The condition on ``device_registrations`` of the target's devices the image applies to."""
    reg = DeviceRegistration
    pairs = session.execute(
        sa.select(reg.model, reg.firmware_version)
        .where(reg.device_id.in_(target.scalar_subquery()))
        .distinct()
    ).all()
    allowed = [
        sa.and_(
            reg.model == model,
            reg.firmware_version.is_(None) if version is None else reg.firmware_version == version,
        )
        for model, version in pairs
        if not_applicable(image, model, version) is None
    ]
    return sa.or_(sa.false(), *allowed)


def freeze(session: Session, rollout: Rollout, image: FirmwareImage) -> Frozen:
    """Write the rollout's devices with their waves (see the module docstring)."""
    target = target_ids(session, rollout)
    everyone = _count(session, target)
    chosen = (
        sa.select(DeviceRegistration.device_id)
        .where(
            DeviceRegistration.device_id.in_(target.scalar_subquery()),
            _applicable(session, image, target),
        )
        .subquery()
    )
    total = _count(session, sa.select(chosen.c.device_id))
    sizes = wave_sizes(
        total,
        canary_count=rollout.canary_count,
        canary_percent=rollout.canary_percent,
        sizes=tuple(rollout.wave_sizes or ()),
        growth=rollout.growth,
    )
    if not sizes:
        return Frozen([], everyone)
    starts = [1, *(end + 1 for end in accumulate(sizes[:-1]))]
    shuffle = sa.func.md5(sa.cast(rollout.id, sa.Text) + sa.cast(chosen.c.device_id, sa.Text))
    ordered = sa.select(
        chosen.c.device_id,
        sa.func.row_number().over(order_by=(shuffle, chosen.c.device_id)).label("position"),
    ).subquery()
    bucket = sa.func.width_bucket(ordered.c.position, sa.cast(starts, ARRAY(sa.BigInteger)))
    rows = sa.select(
        sa.literal(rollout.id, sa.Uuid()),
        ordered.c.device_id,
        bucket,
        ordered.c.position,
        sa.literal(MemberState.PENDING, RolloutDevice.__table__.c.state.type),
    )
    session.execute(
        sa.insert(RolloutDevice).from_select(
            ["rollout_id", "device_id", "wave", "position", "state"], rows
        )
    )
    return Frozen(sizes, everyone - total)
