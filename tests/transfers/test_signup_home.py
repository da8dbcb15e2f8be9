"""Sign-up records the subscriber's home country (the country of collection, decision 0031)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from doorstep.audit.services import flush_events
from doorstep.core.runtime import Runtime
from doorstep.privacy.transfers.models import DriftSource
from tests.accounts.conftest import make_client, sign_up, unique_email, unique_phone, with_settings

PASSWORD = "correct horse battery staple 42"


@pytest.fixture
def client(runtime: Runtime) -> Iterator[TestClient]:
    """The app on the test's rolled-back transaction."""
    yield from make_client(runtime)


def _home_of(db: Session, email: str) -> str | None:
    found: str | None = db.scalar(
        sa.text(
            "SELECT r.country FROM subject_regions r JOIN accounts a ON a.id = r.subject_id "
            "WHERE a.email = :email"
        ),
        {"email": email},
    )
    return found


def _body(email: str, **extra: Any) -> dict[str, Any]:
    return {"email": email, "phone": unique_phone(), "password": PASSWORD, "age": 30, **extra}


def test_the_country_the_app_reports_is_the_home_country(client: TestClient, db: Session) -> None:
    email = unique_email()
    answer = sign_up(client, **_body(email, country=" fr "))  # a German number, used in France
    assert answer.status_code == 202, answer.text
    assert _home_of(db, email) == "FR"
    flush_events(db)
    assert db.scalar(
        sa.text("SELECT count(*) FROM audit_events WHERE action = 'transfers.home_set'")
    )


def test_without_a_country_the_mobile_numbers_country_is_the_home_country(
    client: TestClient, db: Session
) -> None:
    email = unique_email()
    assert sign_up(client, **_body(email)).status_code == 202
    assert _home_of(db, email) == "DE"


def test_without_country_or_number_the_packs_home_country_is_recorded(
    runtime: Runtime, db: Session
) -> None:
    email = unique_email()
    for client in make_client(with_settings(runtime, signup_identifiers="corp")):
        answer = sign_up(client, email=email, password=PASSWORD, age=30)
        assert answer.status_code == 202, answer.text
    assert _home_of(db, email) == "CN"  # the reference pack's transfers.home


@pytest.mark.parametrize("country", ["XX", "ZZ", "Germany", "D", "001"])
def test_a_country_that_is_not_an_iso_code_is_refused_and_nothing_is_stored(
    client: TestClient, db: Session, country: str
) -> None:
    email = unique_email()
    answer = sign_up(client, **_body(email, country=country))
    assert answer.status_code == 422
    assert {"field": "country", "rule": "iso_3166_alpha_2"} in answer.json()["errors"]
    assert db.scalar(sa.text("SELECT count(*) FROM accounts WHERE email = :e"), {"e": email}) == 0
    assert db.scalar(sa.text("SELECT count(*) FROM subject_regions")) == 0


@pytest.mark.clause("CPE-IV.3.a")
def test_an_undeclared_field_of_an_app_body_is_refused_and_counted_as_drift_without_its_value(
    client: TestClient, db: Session
) -> None:
    email = unique_email()
    canary = "canary-contacts-alice,bob"
    for _ in range(2):
        answer = sign_up(client, **_body(email, contacts=canary, **{"x@y.example": "1"}))
        assert answer.status_code == 422
        assert {"field": "contacts", "rule": "extra_forbidden"} in answer.json()["errors"]
    assert db.scalar(sa.text("SELECT count(*) FROM accounts WHERE email = :e"), {"e": email}) == 0
    rows = db.execute(
        sa.text("SELECT source::text, model, path, purpose, count FROM schema_drift ORDER BY path")
    ).all()
    assert [tuple(row) for row in rows] == [
        (DriftSource.CLIENT.value, "app", "<unnamed>", "sign_up", 2),
        (DriftSource.CLIENT.value, "app", "contacts", "sign_up", 2),
    ]
    flush_events(db)
    details = db.scalars(
        sa.text(
            "SELECT details::text FROM audit_events WHERE action = 'ingestion.undeclared_dropped'"
        )
    ).all()
    assert len(details) == 2
    assert all(canary not in text and "x@y.example" not in text for text in details)
