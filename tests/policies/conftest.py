"""Fixtures of the policy-version tests: services on the test's transaction, packs to publish."""

from __future__ import annotations

import shutil
import uuid
from collections.abc import Callable, Iterator
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
import yaml
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from doorstep.asgi import create_app
from doorstep.core.runtime import Runtime
from doorstep.privacy.changes.publish import Marking, Proposal, publish
from doorstep.privacy.datamap.pack import DEFAULT_PACK
from doorstep.privacy.policies import versions
from doorstep.privacy.subjects.models import Subject, SubjectKind
from doorstep.services import Services
from doorstep.wiring import build_services

PUBLISHER = "staff:00000000-0000-0000-0000-000000000001"


@pytest.fixture
def services(runtime: Runtime) -> Services:
    """The process's services on the test's rolled-back transaction."""
    return build_services(runtime)


@pytest.fixture
def client(runtime: Runtime) -> Iterator[TestClient]:
    """The app on the test's rolled-back transaction."""
    with TestClient(create_app(runtime), raise_server_exceptions=False) as test_client:
        yield test_client


PackEdit = Callable[[dict[str, Any], dict[str, Any]], None]


@pytest.fixture
def pack_copy(tmp_path: Path) -> Callable[..., Path]:
    """A copy of the reference pack, changed by ``edit(datamap, consent)`` and ``policy``."""

    def make(name: str, edit: PackEdit | None = None, policy: dict[str, Any] | None = None) -> Path:
        folder = tmp_path / name
        shutil.copytree(DEFAULT_PACK, folder)
        datamap = yaml.safe_load((folder / "datamap.yaml").read_text(encoding="utf-8"))
        consent = yaml.safe_load((folder / "consent.yaml").read_text(encoding="utf-8"))
        if edit is not None:
            edit(datamap, consent)
        (folder / "datamap.yaml").write_text(yaml.safe_dump(datamap), encoding="utf-8")
        (folder / "consent.yaml").write_text(yaml.safe_dump(consent), encoding="utf-8")
        if policy is not None:
            current = yaml.safe_load((folder / "policy.yaml").read_text(encoding="utf-8"))
            current.update(policy)
            (folder / "policy.yaml").write_text(yaml.safe_dump(current), encoding="utf-8")
        return folder

    return make


def new_account(db: Session, runtime: Runtime, *, phone: str | None = None) -> uuid.UUID:
    """An active subscriber with an e-mail address (and a proven mobile number if given)."""
    subject = Subject(kind=SubjectKind.SUBSCRIBER)
    db.add(subject)
    db.flush()
    now = runtime.clock.now()
    db.execute(
        sa.text(
            "INSERT INTO accounts (id, status, email, phone, phone_verified_at, password_hash, "
            "created_at, source) VALUES (:id, 'active', :email, :phone, :verified, 'x', :now, "
            "'app_signup')"
        ),
        {
            "id": subject.id,
            "email": f"{subject.id.hex[:12]}@example.org",
            "phone": phone,
            "verified": now if phone else None,
            "now": now,
        },
    )
    return subject.id


def in_days(runtime: Runtime, days: int) -> date:
    """The date ``days`` after the test clock's today."""
    return (runtime.clock.now() + timedelta(days=days)).date()


def publish_pack(
    db: Session,
    services: Services,
    folder: Path,
    version_id: str,
    effective: date,
    *,
    summary: str = "What changed.",
    marking: Marking = Marking.AUTO,
    minor_reason: str | None = None,
) -> versions.Version:
    """Publish ``folder`` as ``version_id`` (the publisher is a staff id)."""
    return publish(
        db,
        services,
        Proposal(folder, version_id, effective, summary, marking, minor_reason),
        actor=PUBLISHER,
    )
