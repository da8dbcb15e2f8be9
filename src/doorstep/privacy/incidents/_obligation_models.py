"""What an incident owes and how it was met: obligations per jurisdiction, public notices.

An :class:`Obligation` is owed to a jurisdiction's authority (a regulator
report: draft, filed, acknowledged) or to its subjects (open until every one is
told, or withheld on a recorded legal ground); a :class:`PublicNotice` replaces
individual contact when it failed or is impracticable.  Neither names anyone.
Re-exported by :mod:`.models`.
"""

from __future__ import annotations

import uuid
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from doorstep.core.models import Base
from doorstep.privacy.incidents._columns import INCIDENT_ID, Party, about, incident_fk, one_of


class Obligation(Base):
    """A notification owed, per jurisdiction: to its authority, or to its subjects."""

    __tablename__ = "incident_obligations"

    id: Mapped[uuid.UUID] = mapped_column(
        primary_key=True, default=uuid.uuid4, info=about("random id of the obligation")
    )
    incident_id: Mapped[uuid.UUID] = mapped_column(incident_fk(), info=about(INCIDENT_ID))
    party: Mapped[str] = mapped_column(sa.Text, info=about("authority or subjects"))
    jurisdiction: Mapped[str] = mapped_column(sa.Text, info=about("a jurisdiction of the pack"))
    authority: Mapped[str] = mapped_column(
        sa.Text, info=about("the supervisory authority's name, from the pack")
    )
    due_at: Mapped[datetime] = mapped_column(info=about("awareness plus the jurisdiction's hours"))
    status: Mapped[str] = mapped_column(
        sa.Text, info=about("draft, filed or acknowledged; open or met for the subjects")
    )
    filed_at: Mapped[datetime | None] = mapped_column(info=about("when the report was filed"))
    acknowledged_at: Mapped[datetime | None] = mapped_column(
        info=about("when the authority acknowledged it")
    )
    reference: Mapped[str | None] = mapped_column(
        sa.Text, info=about("the authority's case reference (a code)")
    )
    met_at: Mapped[datetime | None] = mapped_column(
        info=about("when every subject of the jurisdiction was notified")
    )
    reminded_at: Mapped[datetime | None] = mapped_column(
        info=about("when the desk was reminded it is due soon")
    )
    overdue_at: Mapped[datetime | None] = mapped_column(
        info=about("when the overdue alert was raised")
    )
    hold_authority: Mapped[str | None] = mapped_column(
        sa.Text, info=about("the authority that asked to withhold or delay the notice")
    )
    hold_reference: Mapped[str | None] = mapped_column(
        sa.Text, info=about("the legal reference of that request")
    )
    hold_until: Mapped[datetime | None] = mapped_column(
        info=about("when the legal ground for withholding lapses")
    )

    __table_args__ = (
        one_of("party", Party, "party_known"),
        sa.CheckConstraint(
            "(party = 'authority' AND status IN ('draft', 'filed', 'acknowledged'))"
            " OR (party = 'subjects' AND status IN ('open', 'met'))",
            name="status_of_party",
        ),
        sa.CheckConstraint(
            "(hold_until IS NULL) = (hold_authority IS NULL)"
            " AND (hold_until IS NULL) = (hold_reference IS NULL)",
            name="hold_complete",
        ),
        sa.CheckConstraint(
            "reference IS NULL OR reference ~ '^[A-Za-z0-9/_.:-]{1,64}$'", name="reference_is_code"
        ),
        sa.UniqueConstraint(
            "incident_id", "party", "jurisdiction", name="uq_incident_obligations_once"
        ),
        sa.Index("ix_incident_obligations_due_at", "due_at"),
    )


class PublicNotice(Base):
    """A notice published for everyone when individual contact failed or is impracticable."""

    __tablename__ = "incident_public_notices"

    id: Mapped[uuid.UUID] = mapped_column(
        primary_key=True, default=uuid.uuid4, info=about("random id of the public notice")
    )
    incident_id: Mapped[uuid.UUID] = mapped_column(incident_fk(), info=about(INCIDENT_ID))
    url: Mapped[str] = mapped_column(sa.Text, info=about("where the notice is published"))
    reason: Mapped[str] = mapped_column(
        sa.Text, info=about("contact_failed or impracticable: why individual contact is replaced")
    )
    published_at: Mapped[datetime] = mapped_column(info=about("when it was published"))
    unreached: Mapped[int] = mapped_column(
        info=about("how many subjects individual contact had not reached (a count)")
    )
    affected: Mapped[int] = mapped_column(info=about("how many subjects were affected (a count)"))

    __table_args__ = (
        sa.CheckConstraint("reason IN ('contact_failed', 'impracticable')", name="reason_known"),
        sa.CheckConstraint("url ~ '^https://'", name="url_https"),
    )
