"""The queue of fleet operations (``device_operations``, decision 0038) and how to add to it.

One row per action on one device: its :class:`OperationKind`, its arguments (paths and
values of non-personal parameters, an image id, the id of a diagnostic run: never
personal data), the purpose it runs under, who asked (``actor``: ``staff:<id>`` or
``system:<name>``), where it comes from (:class:`OriginKind` and ``origin_id``), when it
may start (``not_before``, a maintenance window) and where it stands
(:class:`OperationState`)::

    queued ──► running ──► (waiting ──►) succeeded | failed
       └──────────┴───────────┴────────► cancelled

Contract:

* **One operation in flight per device.**  A partial unique index covers the states
  ``running`` and ``waiting`` only: any number of operations of a device may be
  ``queued``, and the executor's claim skips a device that has one in flight, so a
  second operation waits behind the first (:func:`queue_operations` never refuses
  for that).  Two rollouts, or a rollout and a bulk reboot, never act on one device
  at once.
* **Never twice by one origin.**  ``(origin_id, device_id)`` is unique:
  :func:`queue_operations` skips a device that already has an operation of that
  origin (open or finished), so a retried job that queues a wave again adds nothing.
  A single request's ``origin_id`` is the request's own id (NULL: never deduplicated).
* **Nothing sent twice.**  ``sent_at`` is written (and committed) before the first
  message to the device; a lease that expires with ``sent_at`` NULL puts the
  operation back to ``queued``, one with ``sent_at`` set waits for the device's own
  word or its deadline (:mod:`.sweep`).
* **The device's own error.**  A failed operation keeps ``reason`` (a code of
  :class:`Reason`), the device's ``usp_code`` and ``fault`` text.
* **Its origin hears the end.**  :func:`register_origin` names, per origin kind, the
  callback the executor calls in the operation's final transaction
  (``on_done(session, op)``) and, optionally, the progress hook the sweep calls every
  minute (``progress(session, now)``: the next wave, an automatic pause).  The module
  that registers them is listed in :data:`ORIGIN_MODULES`, so that every process
  running executors or the sweep has them.

The handlers that run each kind are registered in :mod:`.handlers` (their Protocol
is documented there).  Every insert notifies the PostgreSQL channel
:data:`CHANNEL` at commit, which wakes the executors at once.
"""

from __future__ import annotations

import importlib
import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB, insert
from sqlalchemy.orm import Mapped, Session, mapped_column

from doorstep.core.clock import Clock
from doorstep.core.models import Base, enum_type
from doorstep.devices.fleet.operation_codes import (
    ACTIVE_STATES,
    DONE_STATES,
    OPEN_STATES,
    OperationKind,
    OperationState,
    OriginKind,
    Reason,
)
from doorstep.privacy.retention.binding import DELETE, Binding, retention_info
from doorstep.privacy.subjects.linkage import LINK_KEY, Through
from doorstep.vocabulary import LegalBasis, not_personal, personal

RULE = "device_operation"
"""The pack's retention rule: operations are deleted this long after they were queued."""
CHANNEL = "doorstep_device_operations"
"""The PostgreSQL NOTIFY channel every insert signals (no payload)."""
DEFAULT_DEADLINE_SECONDS = 3600
"""How long an operation may take, from ``not_before`` (or its queueing), before it fails:
``device_timeout`` when something was sent, ``unreachable`` when the device was never reached."""

__all__ = [
    "ACTIVE_STATES",
    "CHANNEL",
    "DEFAULT_DEADLINE_SECONDS",
    "DONE_STATES",
    "OPEN_STATES",
    "RULE",
    "DeviceOperation",
    "OnDone",
    "OperationKind",
    "OperationState",
    "Origin",
    "OriginKind",
    "Progress",
    "Reason",
    "cancel_queued",
    "load_origins",
    "origin",
    "origins",
    "queue_operations",
    "register_origin",
]


def _link(description: str) -> dict[str, Any]:
    return personal(
        "user.unique_id.pseudonymous",
        purposes=[
            "device.maintenance",
            "device.diagnostics",
            "device.diagnostics_by_staff",
            "device.settings_removal",
            "privacy.rights",
        ],
        legal_basis=LegalBasis.CONTRACT,
        retention=RULE,
        clauses=["CPE-I.ii.1.b"],
        description=description,
    )


def _plain(reason: str) -> dict[str, Any]:
    return not_personal(reason, export=True)


class DeviceOperation(Base):
    """One action on one device, from its queueing to its outcome."""

    __tablename__ = "device_operations"

    id: Mapped[uuid.UUID] = mapped_column(
        primary_key=True,
        default=uuid.uuid4,
        info=_plain("random id of the operation; sent to the device as its CommandKey"),
    )
    device_id: Mapped[uuid.UUID] = mapped_column(
        sa.ForeignKey("devices.id"),
        info=_link("Which of your devices the operation acted on."),
    )
    kind: Mapped[OperationKind] = mapped_column(
        enum_type(OperationKind, "device_operation_kind"), info=_plain("one of five actions")
    )
    args: Mapped[dict[str, Any]] = mapped_column(
        JSONB,
        info=not_personal(
            "an image id, a run id, or paths and values of the pack's bulk_parameters "
            "allow-list, which the pack reader keeps apart from every personal purpose's paths"
        ),
    )
    purpose: Mapped[str] = mapped_column(
        sa.Text, info=_plain("the pack purpose every request of the operation names")
    )
    actor: Mapped[str] = mapped_column(
        sa.Text, info=not_personal("the staff or system actor who asked (staff:<id>, system:…)")
    )
    origin_kind: Mapped[OriginKind] = mapped_column(
        enum_type(OriginKind, "device_operation_origin"),
        info=_plain("rollout, bulk, diagnostic, wipe or single"),
    )
    origin_id: Mapped[uuid.UUID | None] = mapped_column(
        info=not_personal("id of the rollout, bulk action, run or wipe it belongs to")
    )
    state: Mapped[OperationState] = mapped_column(
        enum_type(OperationState, "device_operation_state"), info=_plain("where it stands")
    )
    step: Mapped[str | None] = mapped_column(
        sa.Text, info=not_personal("the handler's step the device's next word resolves")
    )
    reason: Mapped[str | None] = mapped_column(sa.Text, info=_plain("a reason code (Reason)"))
    usp_code: Mapped[int | None] = mapped_column(
        info=_plain("the device's own USP error code, when it failed one")
    )
    fault: Mapped[str | None] = mapped_column(
        sa.Text,
        info=not_personal(
            "the device's own error text about a non-personal command (FaultString, "
            "err_msg), cut to 500 characters"
        ),
    )
    result: Mapped[dict[str, Any]] = mapped_column(
        JSONB,
        server_default="{}",
        info=not_personal("non-personal outcome values (versions, image slot, counts)"),
    )
    not_before: Mapped[datetime | None] = mapped_column(
        info=_plain("earliest start (maintenance window)")
    )
    deadline_seconds: Mapped[int] = mapped_column(
        info=not_personal("how long it may take from its start")
    )
    deadline_at: Mapped[datetime] = mapped_column(
        info=_plain("not_before (or its queueing) plus deadline_seconds")
    )
    lease_owner: Mapped[str | None] = mapped_column(
        sa.Text, info=not_personal("random id of the executor running it")
    )
    lease_until: Mapped[datetime | None] = mapped_column(
        info=_plain("the executor's claim lapses then unless renewed")
    )
    created_at: Mapped[datetime] = mapped_column(info=_plain("when it was queued"))
    started_at: Mapped[datetime | None] = mapped_column(info=_plain("when an executor took it"))
    sent_at: Mapped[datetime | None] = mapped_column(
        info=_plain("when the first message to the device was recorded as sent")
    )
    step_at: Mapped[datetime | None] = mapped_column(
        info=_plain("when the message of the current step was recorded as sent")
    )
    check_at: Mapped[datetime | None] = mapped_column(
        info=_plain("when an executor next asks the device how a waiting one stands")
    )
    finished_at: Mapped[datetime | None] = mapped_column(info=_plain("when it ended"))

    __table_args__ = (
        sa.UniqueConstraint("origin_id", "device_id"),
        sa.Index(
            "uq_device_operations_active_device",
            "device_id",
            unique=True,
            postgresql_where=sa.text("state IN ('running', 'waiting')"),
        ),
        sa.Index(
            "ix_device_operations_queued",
            "created_at",
            postgresql_where=sa.text("state = 'queued'"),
        ),
        sa.Index(
            "ix_device_operations_check_at",
            "check_at",
            postgresql_where=sa.text("state = 'waiting'"),
        ),
        sa.Index(
            "ix_device_operations_deadline_at",
            "deadline_at",
            postgresql_where=sa.text("state IN ('queued', 'running', 'waiting')"),
        ),
        sa.Index(
            "ix_device_operations_open_device",
            "device_id",
            postgresql_where=sa.text("state IN ('queued', 'running', 'waiting')"),
        ),
        sa.Index("ix_device_operations_origin_id", "origin_id"),
        sa.Index("ix_device_operations_created_at", "created_at"),  # the retention sweep
        {
            "info": {
                # a year after it was queued, once it ended (an open one is never swept)
                **retention_info(
                    Binding(RULE, DELETE, trigger="created_at", where="finished_at IS NOT NULL")
                ),
                # an operation is the subscriber's while the device is bound to them
                LINK_KEY: Through("device_id", "device_bindings", "device_id", "unbound_at"),
            }
        },
    )


def queue_operations(
    session: Session,
    device_ids: Iterable[uuid.UUID],
    kind: OperationKind,
    args: Mapping[str, Any],
    *,
    purpose: str,
    actor: str,
    origin_kind: OriginKind,
    origin_id: uuid.UUID | None,
    not_before: datetime | None = None,
    deadline_seconds: int = DEFAULT_DEADLINE_SECONDS,
    clock: Clock,
) -> int:
    """Queue one operation per device in ``session``'s transaction; return how many were added.

    A device that already has an operation of ``origin_id`` is skipped (see the
    module's contract); a device with another operation in flight gets its row
    queued behind it.  The executors are woken at commit (NOTIFY :data:`CHANNEL`).
    """
    if deadline_seconds < 1:
        raise ValueError("deadline_seconds must be positive")
    now = clock.now()
    rows = [
        {
            "id": uuid.uuid4(),
            "device_id": device_id,
            "kind": kind,
            "args": dict(args),
            "purpose": purpose,
            "actor": actor,
            "origin_kind": origin_kind,
            "origin_id": origin_id,
            "state": OperationState.QUEUED,
            "not_before": not_before,
            "deadline_seconds": deadline_seconds,
            "deadline_at": max(not_before or now, now) + timedelta(seconds=deadline_seconds),
            "created_at": now,
        }
        for device_id in dict.fromkeys(device_ids)
    ]
    if not rows:
        return 0
    statement = (
        insert(DeviceOperation)
        .values(rows)
        .on_conflict_do_nothing(index_elements=["origin_id", "device_id"])
        .returning(DeviceOperation.id)
    )
    added = len(session.execute(statement).all())
    if added:
        session.execute(sa.select(sa.func.pg_notify(CHANNEL, "")))
    return added


def cancel_queued(session: Session, *, origin_id: uuid.UUID, clock: Clock) -> int:
    """Cancel the still-queued operations of ``origin_id`` (a paused or stopped origin)."""
    result = session.execute(
        sa.update(DeviceOperation)
        .where(
            DeviceOperation.origin_id == origin_id,
            DeviceOperation.state == OperationState.QUEUED,
        )
        .values(state=OperationState.CANCELLED, reason=Reason.CANCELLED, finished_at=clock.now())
    )
    return int(getattr(result, "rowcount", 0) or 0)


OnDone = Callable[[Session, DeviceOperation], None]
"""Called in an operation's final transaction, with the row in its final state."""
Progress = Callable[[Session, datetime], None]
"""Called by the sweep every minute, in a transaction of its own."""


@dataclass(frozen=True, slots=True)
class Origin:
    """What an origin kind registered: its end callback and its optional progress hook."""

    on_done: OnDone
    progress: Progress | None = None


_ORIGINS: dict[OriginKind, Origin] = {}

#: Modules that call :func:`register_origin` at import; :func:`load_origins` imports
#: them (the executor and the sweep do, so the callbacks exist in every process).  An
#: origin's module adds its dotted name here.
ORIGIN_MODULES: tuple[str, ...] = (
    "doorstep.devices.fleet.bulk_progress",
    "doorstep.devices.fleet.rollout_origin",
    "doorstep.devices.fleet.wipe_origin",
    "doorstep.devices.fleet.diagnostics_origin",
)


def load_origins() -> None:
    """Import every module of :data:`ORIGIN_MODULES` (each registers its origin)."""
    for name in ORIGIN_MODULES:
        importlib.import_module(name)


def register_origin(
    origin_kind: OriginKind, on_done: OnDone, *, progress: Progress | None = None
) -> None:
    """Name the callbacks of ``origin_kind`` (once per kind; a second, different one raises)."""
    new = Origin(on_done, progress)
    existing = _ORIGINS.get(origin_kind)
    if existing is not None and existing != new:
        raise ValueError(f"origin {origin_kind.value!r} is registered twice")
    _ORIGINS[origin_kind] = new


def origin(origin_kind: OriginKind) -> Origin | None:
    """The callbacks registered for ``origin_kind``, if any."""
    return _ORIGINS.get(origin_kind)


def origins() -> Mapping[OriginKind, Origin]:
    """Every registered origin (the sweep calls their progress hooks)."""
    return dict(_ORIGINS)
