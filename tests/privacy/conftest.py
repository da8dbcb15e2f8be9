"""Helpers of the consent, purpose-gate and staff tests.

``scratch_schema`` is Doorstep's schema plus a few tables that later areas will
own (accounts, devices, a consent-based element), declared the way those areas
will declare them, so the gate and staff access can be proven before they exist.
``create_scratch_tables`` builds them inside the test's rolled-back transaction.
"""

from __future__ import annotations

import uuid
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from doorstep.audit.services import flush_events
from doorstep.privacy.datamap.pack import default_pack
from doorstep.privacy.purposes import PurposeGate
from doorstep.privacy.subjects.models import Subject, SubjectKind
from doorstep.schema import metadata as schema
from doorstep.vocabulary import LegalBasis, not_personal, personal

SCRATCH_TABLES = ("test_accounts", "test_devices", "test_wifi_scans")
EMAIL = "test_accounts.email"
PASSWORD = "test_accounts.password_hash"
SERIAL = "test_devices.serial_number"
STATUS = "test_devices.network_status"
LOCATION = "test_wifi_scans.location"

NOTICE = "Doorstep may use your phone's location to list nearby Wi-Fi networks."
CAMERA_NOTICE = "Doorstep may use your phone's camera to scan the QR code on your router."


def _owner() -> sa.Column[Any]:
    return sa.Column(
        "owner_id",
        sa.Uuid,
        sa.ForeignKey("subjects.id", ondelete="CASCADE"),
        nullable=False,
        info=personal(
            "user.unique_id.pseudonymous",
            purposes=["account.management", "customer.support", "privacy.rights"],
            legal_basis=LegalBasis.CONTRACT,
            retention="until_erasure",
        ),
    )


def build_scratch_schema() -> sa.MetaData:
    """Doorstep's tables plus the scratch tables, in a metadata of their own."""
    scratch = sa.MetaData()
    for table in schema.tables.values():
        table.to_metadata(scratch)
    key = {"info": not_personal("scratch row id")}
    sa.Table(
        "test_accounts",
        scratch,
        sa.Column("id", sa.Integer, primary_key=True, **key),
        _owner(),
        sa.Column(
            "email",
            sa.Text,
            info=personal(
                "user.contact.email",
                purposes=["account.management", "customer.support", "privacy.rights"],
                legal_basis=LegalBasis.CONTRACT,
                retention="until_erasure",
            ),
        ),
        sa.Column(
            "password_hash",
            sa.Text,
            info=personal(
                "user.authorization.password",
                purposes=["account.authentication", "privacy.rights"],
                legal_basis=LegalBasis.CONTRACT,
                retention="until_erasure",
            ),
        ),
    )
    sa.Table(
        "test_devices",
        scratch,
        sa.Column("id", sa.Integer, primary_key=True, **key),
        _owner(),
        sa.Column(
            "serial_number",
            sa.Text,
            info=personal(
                "user.device.device_id",
                purposes=["device.registration", "customer.support", "privacy.rights"],
                legal_basis=LegalBasis.CONTRACT,
                retention="until_erasure",
            ),
        ),
        sa.Column(
            "network_status",
            sa.Text,
            info=personal(
                "user.device",
                purposes=["customer.support"],
                legal_basis=LegalBasis.CONTRACT,
                retention="until_erasure",
            ),
        ),
    )
    sa.Table(
        "test_wifi_scans",
        scratch,
        sa.Column("id", sa.Integer, primary_key=True, **key),
        _owner(),
        sa.Column(
            "location",
            sa.Text,
            info=personal(
                "user.location.precise",
                purposes=["wifi.location_scan"],
                legal_basis=LegalBasis.CONSENT,
                retention="until_erasure",
            ),
        ),
    )
    return scratch


@pytest.fixture(scope="session")
def scratch_schema() -> sa.MetaData:
    """The schema with the scratch tables."""
    return build_scratch_schema()


@pytest.fixture(scope="session")
def gate(scratch_schema: sa.MetaData) -> PurposeGate:
    """A gate over the scratch schema and the default pack."""
    return PurposeGate.from_datamap(scratch_schema, default_pack())


def create_scratch_tables(session: Session, scratch: sa.MetaData) -> None:
    """Create the scratch tables in the session's (rolled-back) transaction."""
    scratch.create_all(
        session.connection(), tables=[scratch.tables[name] for name in SCRATCH_TABLES]
    )


def new_subject(session: Session, kind: SubjectKind = SubjectKind.SUBSCRIBER) -> uuid.UUID:
    """A new subject, flushed."""
    subject = Subject(kind=kind)
    session.add(subject)
    session.flush()
    return subject.id


def audit_rows(session: Session | sa.Connection, **where: object) -> list[sa.Row[Any]]:
    """Audit events matching ``where`` (column = value), oldest first."""
    if isinstance(session, Session):
        flush_events(session)
    clauses = " AND ".join(f"{name} = :{name}" for name in where) or "TRUE"
    return list(
        session.execute(
            sa.text(
                "SELECT id, at, actor, action, purpose, element, subject_id, outcome, details "
                f"FROM audit_events WHERE {clauses} ORDER BY id"
            ),
            where,
        )
    )
