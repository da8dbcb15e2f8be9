"""Helpers of the audit-trail tests: count rows, tamper as a superuser would."""

from __future__ import annotations

import uuid
from collections.abc import Callable

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from doorstep.audit.services import record

Tamper = Callable[[str], None]


def count(session: Session | sa.Connection, table: str) -> int:
    """Rows in ``table``."""
    return int(session.execute(sa.text(f"SELECT count(*) FROM {table}")).scalar_one())


def record_many(session: Session, n: int, *, subject: uuid.UUID | None = None) -> None:
    """Record ``n`` distinct events."""
    for index in range(n):
        record(
            session,
            action="datamap.read",
            actor="system:tests",
            subject_id=subject or uuid.uuid4(),
            purpose="security.audit",
            element="subjects.id",
            details={"index": index},
        )


@pytest.fixture
def tamper(db: Session) -> Tamper:
    """Run SQL with the append-only triggers off, as a superuser could (rolled back after)."""

    def run(statement: str) -> None:
        db.execute(sa.text("SET LOCAL session_replication_role = replica"))
        db.execute(sa.text(statement))
        db.execute(sa.text("SET LOCAL session_replication_role = origin"))

    return run
