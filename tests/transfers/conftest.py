"""Helpers of the transfer-gate and ingestion tests: a subject, a gate, its notices."""

from __future__ import annotations

import uuid
from datetime import date

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from doorstep.core.clock import FakeClock
from doorstep.privacy.deidentify import PSEUDONYMISE_ALL, PseudonymKey, Scanner
from doorstep.privacy.transfers.gate import Deidentifier, TransferGate, deidentifier_of
from doorstep.privacy.transfers.mechanisms import add_mechanism
from doorstep.privacy.transfers.models import MechanismKind
from doorstep.privacy.transfers.notices import NoticeAddress, email_notifier
from doorstep.privacy.transfers.policy import TransferPolicy
from tests.packs import reference_pack

ACTOR = "system:tests"
ADDRESS = "subscriber@example.org"
#: Home CN; the cloud vendor's region in DE; a store in the US that nothing covers.
POLICY = TransferPolicy(
    home="CN",
    regions={"primary": "CN", "vendor": "DE", "us": "US"},
    safeguards={"vendor": "Standard contractual clauses", "us": ""},
)


def add_subject(session: Session, clock: FakeClock) -> uuid.UUID:
    """A subscriber subject (no account: the gate needs none)."""
    subject = uuid.uuid4()
    session.execute(
        sa.text("INSERT INTO subjects (id, kind, created_at) VALUES (:id, 'subscriber', :at)"),
        {"id": subject, "at": clock.now()},
    )
    return subject


def scanner_deidentifier() -> Deidentifier:
    """The de-identifier of privacy.deidentify, pseudonymising every kind."""
    key = PseudonymKey.derive("transfer-tests", recipient="research")
    return deidentifier_of(Scanner(PSEUDONYMISE_ALL, key))


def gate_of(
    clock: FakeClock,
    *,
    policy: TransferPolicy = POLICY,
    deidentifier: Deidentifier | None = None,
    reachable: bool = True,
) -> TransferGate:
    """A gate whose notices go to :data:`ADDRESS` through the outbox (none if unreachable)."""
    notifier = email_notifier(
        reference_pack(),
        clock,
        lambda _s, _id: NoticeAddress("email", ADDRESS, "en") if reachable else None,
    )
    return TransferGate(policy, deidentifier=deidentifier, notifier=notifier)


def contract(session: Session, clock: FakeClock, country: str, **kwargs: object) -> uuid.UUID:
    """A standard contract for ``country`` signed a year ago."""
    values: dict[str, object] = {"signed_on": date(clock.now().year - 1, 1, 1), **kwargs}
    return add_mechanism(
        session,
        kind=MechanismKind.STANDARD_CONTRACT,
        country=country,
        reference="SCC-2021/914-module-2",
        clock=clock,
        actor=ACTOR,
        **values,  # type: ignore[arg-type]
    ).id


@pytest.fixture
def subject(db: Session, clock: FakeClock) -> uuid.UUID:
    """A subject living in the home country."""
    return add_subject(db, clock)
