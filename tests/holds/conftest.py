"""Fixtures of the legal-hold tests: the requests area's context, and holds placed directly."""

from __future__ import annotations

import uuid

from sqlalchemy.orm import Session

from doorstep.core.clock import Clock
from doorstep.privacy.holds import services as holds
from doorstep.privacy.holds.models import LegalHold
from doorstep.schema import metadata
from tests.requests.conftest import ctx, keys, services  # noqa: F401  (fixtures)

OFFICER = "staff:" + str(uuid.UUID(int=9))


def hold(
    db: Session,
    clock: Clock,
    subject: uuid.UUID,
    element: str | None = None,
    *,
    basis: str = "TAX_RETENTION",
    reference: str = "TAX-2026-0042",
) -> LegalHold:
    """A hold placed by the privacy officer, flushed."""
    given = holds.check(
        metadata,
        subject_id=subject,
        element=element,
        basis=basis,
        authority="Tax office Berlin",
        reference=reference,
    )
    return holds.place(db, clock, given, actor=OFFICER)
