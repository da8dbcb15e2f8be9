"""Seams other areas plug into the accounts area.

:class:`BoundDevices` answers "which devices are still bound to this account?"
for deregistration (CPE-V.5.c: refused while any device is bound);
:class:`RouterRemovals` says where the removal of the subscriber's settings from the
routers they unbound stands, for the account-closure confirmation.  The devices
area registers its own in the composition root (:func:`doorstep.wiring.build_services`)::

    services = Services(..., bound_devices=devices.services.bound_device_ids)

Until then :func:`doorstep.services.no_bound_devices` answers "none".  The hook receives the
caller's session, so its answer and the deregistration that relies on it are
read in one transaction (a device bound concurrently is seen or blocks).
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Protocol

from sqlalchemy.orm import Session


class BoundDevices(Protocol):
    """``(session, subject_id) -> ids of the devices bound to the subject's account``."""

    def __call__(self, session: Session, subject_id: uuid.UUID, /) -> Sequence[str]:
        """The ids (as text) of every device still bound to the account; empty when none."""
        ...


class RouterRemovals(Protocol):
    """``(session, subject_id) -> the sentence on removing the subject's settings from routers``.

    The account-closure confirmation adds it (decision 0042): a message id saying whether
    those removals are done, pending or failed; None when there were none.
    """

    def __call__(self, session: Session, subject_id: uuid.UUID, /) -> str | None:
        """A message id (translated with the notice), or None."""
        ...
