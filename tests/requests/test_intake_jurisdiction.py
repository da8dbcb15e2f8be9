"""A requester's jurisdiction is input: an unknown one is a 422 naming the field.

``POST /api/v1/requests`` and ``POST /api/v1/me/requests`` with an unknown
``jurisdiction`` used to answer 500 "no request period for jurisdiction 'nope'",
echoing the caller's text, and only when an account held the address (an
oracle).  Now both answer 422 with ``errors[].field == "jurisdiction"``, never
repeat what was sent, and change nothing.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from doorstep.asgi import create_app
from doorstep.core.runtime import Runtime
from doorstep.privacy.requests import services as svc
from doorstep.privacy.requests.context import RequestContext
from doorstep.privacy.requests.models import SubjectRequest
from tests.accounts.conftest import activate, bearer, sign_in, unique_email, unique_phone
from tests.requests.conftest import STAFF, new_subject

ME = "/api/v1/me/requests"
FORM = "/api/v1/requests"
#: Unknown to the deployment, the schema's shape refused, and one far too long.
BAD = ["nope", "x<script>", "'; DROP TABLE x; --", "é", "g" * 33]


@pytest.fixture
def client(runtime: Runtime) -> Iterator[TestClient]:
    """The app as served; a server error would come back as a 500, not be raised."""
    with TestClient(create_app(runtime), raise_server_exceptions=False) as test_client:
        yield test_client


def _count(db: Session) -> int:
    return int(db.scalar(sa.select(sa.func.count()).select_from(SubjectRequest)) or 0)


def _refused_naming_the_field(answer_status: int, body: dict[str, object], sent: str) -> None:
    assert answer_status == 422, body
    assert {"field": "jurisdiction"}.items() <= dict(body["errors"][0]).items()  # type: ignore[index]
    assert sent not in str(body)  # the caller's text is never echoed


@pytest.mark.parametrize("jurisdiction", BAD)
def test_the_public_form_refuses_an_unknown_jurisdiction(
    client: TestClient, db: Session, jurisdiction: str
) -> None:
    email = unique_email()
    activate(client, db, email=email, phone=unique_phone())
    before = _count(db)
    for address in (email, unique_email()):  # with and without an account: the same answer
        answer = client.post(
            FORM, json={"kind": "access", "email": address, "jurisdiction": jurisdiction}
        )
        _refused_naming_the_field(answer.status_code, answer.json(), jurisdiction)
    assert _count(db) == before


@pytest.mark.parametrize("jurisdiction", BAD)
def test_the_app_refuses_an_unknown_jurisdiction(
    client: TestClient, db: Session, jurisdiction: str
) -> None:
    email = unique_email()
    activate(client, db, email=email, phone=unique_phone())
    token = sign_in(client, email).json()["access_token"]
    before = _count(db)
    answer = client.post(
        ME, json={"kind": "access", "jurisdiction": jurisdiction}, headers=bearer(token)
    )
    _refused_naming_the_field(answer.status_code, answer.json(), jurisdiction)
    assert _count(db) == before


def test_a_known_jurisdiction_is_taken(client: TestClient, db: Session) -> None:
    email = unique_email()
    account_id = activate(client, db, email=email, phone=unique_phone())
    token = sign_in(client, email).json()["access_token"]
    answer = client.post(ME, json={"kind": "access", "jurisdiction": "gdpr"}, headers=bearer(token))
    assert answer.status_code == 201, answer.text
    row = db.scalars(sa.select(SubjectRequest).where(SubjectRequest.subject_id == account_id)).one()
    assert row.jurisdiction == "gdpr"


def test_the_service_refuses_it_for_every_channel(db: Session, ctx: RequestContext) -> None:
    from doorstep.core.errors import InvalidInputError

    with pytest.raises(InvalidInputError) as refused:
        svc.open_request(
            db,
            ctx,
            subject_id=new_subject(db),
            kind="access",
            channel="email",
            actor=STAFF,
            jurisdiction="nope",
        )
    assert refused.value.status == 422
    assert refused.value.fields["errors"] == [
        {"field": "jurisdiction", "rule": "known_jurisdiction"}
    ]
    assert "nope" not in refused.value.detail
