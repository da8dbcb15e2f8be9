"""The incident register's own tables: the incident, its plan's tasks and its notice texts.

These rows describe the incident itself and name no one (decision 0018): ids,
names, instants, counts and the notice's five parts written for everyone.  They
stay as the operator's incident register.  Re-exported by :mod:`.models`.
"""

from __future__ import annotations

import uuid
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Mapped, mapped_column

from doorstep.core.models import Base
from doorstep.privacy.incidents._columns import (
    INCIDENT_ID,
    IncidentKind,
    TaskKind,
    about,
    incident_fk,
    one_of,
)


class Incident(Base):
    """One security incident: what happened, where, when, its rating and its counts."""

    __tablename__ = "incidents"

    id: Mapped[uuid.UUID] = mapped_column(
        primary_key=True, default=uuid.uuid4, info=about(INCIDENT_ID)
    )
    kind: Mapped[str] = mapped_column(
        sa.Text, info=about("loss, disclosure, alteration or unauthorised_access")
    )
    status: Mapped[str] = mapped_column(sa.Text, info=about("open or closed"))
    aware_at: Mapped[datetime] = mapped_column(
        info=about("when the operator became aware; every clock runs from here")
    )
    opened_at: Mapped[datetime] = mapped_column(info=about("when the incident was recorded"))
    window_start: Mapped[datetime | None] = mapped_column(
        info=about("start of the time window the incident spans (none: unknown)")
    )
    window_end: Mapped[datetime | None] = mapped_column(
        info=about("end of the time window (none: until it was recorded)")
    )
    systems: Mapped[list[str]] = mapped_column(
        ARRAY(sa.Text), info=about("names of the affected tables (systems) of the data map")
    )
    elements: Mapped[list[str]] = mapped_column(
        ARRAY(sa.Text), info=about("names of the affected data-map elements (table.column)")
    )
    device_models: Mapped[list[str]] = mapped_column(
        ARRAY(sa.Text), info=about("device model names the incident spans (a product's name)")
    )
    device_ids: Mapped[list[uuid.UUID]] = mapped_column(
        ARRAY(sa.Uuid), info=about("inventory ids of affected units (devices.id)")
    )
    risk: Mapped[str | None] = mapped_column(
        sa.Text, info=about("low or significant once rated (CPE-IV.1.e)")
    )
    rated_at: Mapped[datetime | None] = mapped_column(info=about("when the risk was rated"))
    affected_count: Mapped[int] = mapped_column(
        server_default="0", info=about("how many subjects are affected (a count)")
    )
    computed_at: Mapped[datetime | None] = mapped_column(
        info=about("when the affected subjects were last computed")
    )
    notify_started_at: Mapped[datetime | None] = mapped_column(
        info=about("when the notices to the subjects were started")
    )
    closed_at: Mapped[datetime | None] = mapped_column(info=about("when it was closed"))

    __table_args__ = (
        one_of("kind", IncidentKind, "kind_known"),
        sa.CheckConstraint("status IN ('open', 'closed')", name="status_known"),
        sa.CheckConstraint("risk IS NULL OR risk IN ('low', 'significant')", name="risk_known"),
        sa.CheckConstraint("(risk IS NULL) = (rated_at IS NULL)", name="rated_with_time"),
        sa.CheckConstraint(
            "window_start IS NULL OR window_end IS NULL OR window_start <= window_end",
            name="window_ordered",
        ),
        sa.CheckConstraint("affected_count >= 0", name="count_not_negative"),
    )


class IncidentTask(Base):
    """One emergency-plan task of an incident (contain, assess)."""

    __tablename__ = "incident_tasks"

    incident_id: Mapped[uuid.UUID] = mapped_column(
        incident_fk(), primary_key=True, info=about(INCIDENT_ID)
    )
    kind: Mapped[str] = mapped_column(sa.Text, primary_key=True, info=about("contain or assess"))
    opened_at: Mapped[datetime] = mapped_column(info=about("when the task was opened"))
    done_at: Mapped[datetime | None] = mapped_column(info=about("when it was done"))

    __table_args__ = (one_of("kind", TaskKind, "kind_known"),)


#: The five parts of a notice (CPE-IV.7.a), in the order the notice shows them.
NOTICE_PARTS = (
    "basic_situation",
    "possible_impact",
    "measures",
    "self_protection_advice",
    "remedies",
)


class Notice(Base):
    """The text told to the subjects, in one language: the five parts of CPE-IV.7.a."""

    __tablename__ = "incident_notices"

    incident_id: Mapped[uuid.UUID] = mapped_column(
        incident_fk(), primary_key=True, info=about(INCIDENT_ID)
    )
    locale: Mapped[str] = mapped_column(
        sa.Text, primary_key=True, info=about("the language of this text (en, de)")
    )
    basic_situation: Mapped[str] = mapped_column(
        sa.Text, info=about("what happened, written once for every affected subscriber")
    )
    possible_impact: Mapped[str] = mapped_column(
        sa.Text, info=about("what it may mean for them, written for all of them")
    )
    measures: Mapped[str] = mapped_column(
        sa.Text, info=about("the measures taken or planned, written for all of them")
    )
    self_protection_advice: Mapped[str] = mapped_column(
        sa.Text, info=about("advice to protect themselves, written for all of them")
    )
    remedies: Mapped[str] = mapped_column(
        sa.Text, info=about("the remedies offered, written for all of them")
    )
    set_at: Mapped[datetime] = mapped_column(info=about("when the text was last set"))
