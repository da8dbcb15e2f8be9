"""Brute-force protection of claim codes that a stranger cannot turn against the owner.

Wrong codes are counted in a window of ``device_claim_lockout_seconds``, in two places:

* **per claimant** (``device_claim_limits``): at ``device_claim_max_failures`` wrong
  codes the account is locked for the window; its lock refuses all its attempts, the
  right code included.  Only the claimant's own failures lead there.
* **per device** (``devices.claim_failures``), only for scanned payloads, which name the
  device: at ``device_claim_device_max_failures`` wrong payloads, from any accounts, the
  device is locked for the window.  Its lock refuses only claimants who have already
  guessed wrong in their own window; a claimant with no failure still gets each attempt
  judged, so the owner scanning the label (or typing its code) binds at once however
  many strangers guessed.  A typed code names no device (it is looked up by its
  digest), so a device lock never applies to it: a wrong typed code is a guess at every
  device alike, bounded per claimant.

The bound on guessing one device's secret in one window: ``device_max`` wrong payloads,
plus at most one more from each account that had no failure yet (a wrong one gives it
a failure, and it is refused from then on while the device is locked), each account
at most ``subscriber_max`` in all; accounts take verified identifiers and sign-ups are
rate-limited per address.  Against 100-bit secrets that bound is ample; it only stops
one claimant from blocking another.

A success clears the claimant's and the device's counters.  Rows are locked ``FOR
UPDATE``, so concurrent attempts of one subscriber or on one device are counted one
after the other.  A malformed input (not a code at all) is not counted: it guesses
nothing.  The counters are written in the caller's transaction, which must commit
although the attempt failed (the API answers the refusal itself instead of raising
through the request's transaction).
"""

from __future__ import annotations

import math
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from doorstep.core.settings import Settings
from doorstep.devices.exceptions import ClaimLockedError
from doorstep.devices.models import Device, DeviceClaimLimit


@dataclass(frozen=True, slots=True)
class Limits:
    """The lockout settings."""

    subscriber_max: int
    device_max: int
    window: timedelta

    @classmethod
    def from_settings(cls, settings: Settings) -> Limits:
        """Limits from ``device_claim_*`` settings."""
        return cls(
            settings.device_claim_max_failures,
            settings.device_claim_device_max_failures,
            timedelta(seconds=settings.device_claim_lockout_seconds),
        )


def _locked(until: datetime | None, now: datetime) -> None:
    if until is not None and until > now:
        seconds = max(1, math.ceil((until - now).total_seconds()))
        raise ClaimLockedError("too many wrong device codes; try again later", retry_after=seconds)


def check_subscriber(session: Session, limits: Limits, subject_id: uuid.UUID, now: datetime) -> int:
    """The subscriber's wrong codes in the current window (0 when none or expired).

    Raises ClaimLockedError while the subscriber is locked out.  Takes the row's lock.
    """
    row = session.execute(
        sa.select(
            DeviceClaimLimit.locked_until,
            DeviceClaimLimit.window_start,
            DeviceClaimLimit.failures,
        )
        .where(DeviceClaimLimit.subject_id == subject_id)
        .with_for_update()
    ).one_or_none()
    if row is None:
        return 0
    _locked(row.locked_until, now)
    return 0 if row.window_start <= now - limits.window else int(row.failures)


def check_device(
    session: Session, device_id: uuid.UUID, now: datetime, *, claimant_failures: int
) -> None:
    """ClaimLockedError while the device is locked, for a claimant who already failed.

    A claimant with no failure in its window (``claimant_failures == 0``) is never
    refused here: strangers' guesses must not block the owner.  Takes the row's lock.
    """
    until = session.execute(
        sa.select(Device.claim_locked_until).where(Device.id == device_id).with_for_update()
    ).scalar_one()
    if claimant_failures:
        _locked(until, now)


def count_failure(
    session: Session,
    limits: Limits,
    subject_id: uuid.UUID,
    device_id: uuid.UUID | None,
    now: datetime,
) -> int:
    """Count one wrong code; return how many attempts the subscriber has left.

    ``device_id`` is the device a scanned payload named (None for a typed code, or a
    payload naming no known device): only then does the device's counter move.
    """
    stale = now - limits.window
    current = DeviceClaimLimit.__table__.c
    restart = current.window_start <= stale
    failures = sa.case((restart, 1), else_=current.failures + 1)
    values = insert(DeviceClaimLimit).values(
        subject_id=subject_id, window_start=now, failures=1, locked_until=None
    )
    statement = values.on_conflict_do_update(
        index_elements=["subject_id"],
        set_={
            "window_start": sa.case((restart, now), else_=current.window_start),
            "failures": failures,
        },
    ).returning(DeviceClaimLimit.failures)
    count = int(session.execute(statement).scalar_one())
    if count >= limits.subscriber_max:
        session.execute(
            sa.update(DeviceClaimLimit)
            .where(DeviceClaimLimit.subject_id == subject_id)
            .values(locked_until=now + limits.window)
        )
    if device_id is not None:
        _count_device(session, limits, device_id, now)
    return max(0, limits.subscriber_max - count)


def _count_device(session: Session, limits: Limits, device_id: uuid.UUID, now: datetime) -> None:
    stale = now - limits.window
    restart = sa.or_(Device.claim_window_start.is_(None), Device.claim_window_start <= stale)
    count = session.execute(
        sa.update(Device)
        .where(Device.id == device_id)
        .values(
            claim_window_start=sa.case((restart, now), else_=Device.claim_window_start),
            claim_failures=sa.case((restart, 1), else_=Device.claim_failures + 1),
        )
        .returning(Device.claim_failures)
    ).scalar_one()
    if count >= limits.device_max:
        session.execute(
            sa.update(Device)
            .where(Device.id == device_id)
            .values(claim_locked_until=now + limits.window)
        )


def clear(session: Session, subject_id: uuid.UUID, device_id: uuid.UUID) -> None:
    """A right code: forget the subscriber's and the device's failures."""
    session.execute(sa.delete(DeviceClaimLimit).where(DeviceClaimLimit.subject_id == subject_id))
    session.execute(
        sa.update(Device)
        .where(Device.id == device_id)
        .values(claim_failures=0, claim_window_start=None, claim_locked_until=None)
    )
