"""Fixtures of the key area: a keyring, the service, and subjects to encrypt for."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy.orm import Session

from doorstep.core.clock import FakeClock
from doorstep.keys.keyring import MemoryKeyring
from doorstep.keys.services import KeyService
from doorstep.privacy.subjects.models import Subject, SubjectKind

PPPOE = "devices.pppoe_password"


def new_subject(session: Session) -> uuid.UUID:
    """Register a subscriber and return its id (flushed, not committed)."""
    subject = Subject(kind=SubjectKind.SUBSCRIBER)
    session.add(subject)
    session.flush()
    return subject.id


@pytest.fixture
def keyring(clock: FakeClock) -> MemoryKeyring:
    """A fresh in-memory keyring with one KEK."""
    return MemoryKeyring(clock=clock)


@pytest.fixture
def keys(keyring: MemoryKeyring, clock: FakeClock) -> KeyService:
    """The service on the in-memory keyring, with an empty cache."""
    return KeyService(keyring, clock)
