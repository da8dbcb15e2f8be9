"""The receipt key's public half is served at a well-known path and verifies receipts."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from doorstep.asgi import create_app
from doorstep.audit.entries import system_actor
from doorstep.core.clock import FakeClock
from doorstep.core.runtime import Runtime
from doorstep.privacy.consent import grant, issue_receipt, load_terms, signer_for, verify_receipt
from doorstep.privacy.datamap.pack import default_pack
from doorstep.privacy.subjects.models import Subject, SubjectKind


@pytest.fixture
def client(runtime: Runtime) -> Iterator[TestClient]:
    with TestClient(create_app(runtime), raise_server_exceptions=False) as test_client:
        yield test_client


def test_the_served_jwks_verifies_a_receipt_signed_by_the_process(
    client: TestClient, runtime: Runtime, db: Session
) -> None:
    answer = client.get("/.well-known/jwks.json")
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("application/jwk-set+json")
    (key,) = answer.json()["keys"]
    assert key["kty"] == "OKP" and key["crv"] == "Ed25519" and "d" not in key
    pack = default_pack()
    terms = load_terms(pack)
    subject = Subject(kind=SubjectKind.SUBSCRIBER, id=uuid.uuid4())
    db.add(subject)
    db.flush()
    purpose = next(iter(terms.purposes))
    event = grant(
        db,
        subject_id=subject.id,
        purpose=purpose,
        channel="app",
        notice_text="shown",
        clock=FakeClock(),
        terms=terms,
    )
    token = issue_receipt(
        db,
        event.id,
        signer=signer_for(runtime.settings),
        actor=system_actor("test"),
        pack=pack,
        terms=terms,
    )
    claims = verify_receipt(token, key)
    assert claims["consentReceiptID"] == str(event.id)
