"""Fixtures of the controls-register tests: the reference pack's policy, audit and outbox reads."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from doorstep.audit.services import flush_events
from doorstep.core.clock import Clock
from doorstep.privacy.controls import services as svc
from doorstep.privacy.controls.models import Control, ControlKind
from doorstep.privacy.datamap.pack_controls import ControlsPolicy
from tests.packs import reference_pack

STAFF = "staff:" + str(uuid.UUID(int=16))


def policy() -> ControlsPolicy:
    """The controls section of the reference pack (12-month intervals, five claims)."""
    return reference_pack().controls


def today(clock: Clock) -> date:
    """The fake clock's day."""
    return clock.now().date()


def events(session: Session, action: str) -> list[dict[str, Any]]:
    """The details of the audit events with ``action``, oldest first."""
    flush_events(session)
    rows = session.execute(
        sa.text("SELECT details FROM audit_events WHERE action = :a ORDER BY id"), {"a": action}
    )
    return [dict(row.details) for row in rows]


def area_events(session: Session) -> int:
    """How many audit events the controls register recorded (``controls.*``)."""
    flush_events(session)
    return int(
        session.execute(
            sa.text("SELECT count(*) FROM audit_events WHERE action LIKE 'controls.%'")
        ).scalar_one()
    )


def messages(session: Session, template: str) -> list[sa.Row[Any]]:
    """The outbox messages of ``template``, oldest first."""
    return list(
        session.execute(
            sa.text(
                "SELECT id, email, params FROM outbox WHERE template = :t ORDER BY created_at, id"
            ),
            {"t": template},
        )
    )


def count(session: Session, table: str) -> int:
    """How many rows ``table`` holds."""
    return int(session.execute(sa.text(f"SELECT count(*) FROM {table}")).scalar_one())


def control(session: Session, clock: Clock, kind: ControlKind, name: str, **fields: Any) -> Control:
    """A control of ``kind`` registered by staff (scope given for the kinds that need one)."""
    if kind in svc.SCOPED:
        fields.setdefault("scope", "Doorstep cloud, data centre Shenzhen")
    return svc.add_control(
        session, kind=kind, name=name, owner_role="ciso", clock=clock, actor=STAFF, **fields
    )
