"""Children: the age gate at 14, a guardian's verifiable consent by e-mail link, and the
deletion of a child's data when no consent came."""

from __future__ import annotations

import hashlib
import uuid
from datetime import date, timedelta
from urllib.parse import parse_qs, urlparse

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from pydantic import SecretStr
from sqlalchemy.orm import Session

from doorstep.accounts.children.guardians import check_age, guardian_of_token
from doorstep.accounts.children.models import Guardian
from doorstep.accounts.context import AccountContext
from doorstep.accounts.deregistration.erasure import erase_account
from doorstep.accounts.tasks import sweep
from doorstep.core.clock import FakeClock
from doorstep.core.errors import InvalidInputError
from doorstep.core.runtime import Runtime
from doorstep.privacy.subjects.models import Subject, SubjectKind
from tests.accounts.conftest import (
    PASSWORD,
    PREFIX,
    audit_actions,
    last_message,
    sign_in,
    sign_up,
    unique_email,
    unique_phone,
    with_settings,
)

TODAY = date(2026, 1, 1)  # the fake clock's day
#: A guardian link's token as PyJWT 2.15 signed it (HS256) before the move to joserfc,
#: under LEGACY_SECRET, for guardian LEGACY_GUARDIAN and token id LEGACY_JTI.
LEGACY_SECRET = "doorstep-guardian-fixture-secret-0123456789"
LEGACY_GUARDIAN = uuid.UUID("8d5c1f0e-6a3b-4c2d-9e1f-0a1b2c3d4e5f")
LEGACY_JTI = "fixture-jti-0123456789abcdefghijkl"
LEGACY_TOKEN = (
    "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9."
    "eyJzdWIiOiI4ZDVjMWYwZS02YTNiLTRjMmQtOWUxZi0wYTFiMmMzZDRlNWYiLCJqdGkiOiJmaXh0dXJlLWp0aS0w"
    "MTIzNDU2Nzg5YWJjZGVmZ2hpamtsIiwiYXVkIjoiZG9vcnN0ZXAuZ3VhcmRpYW5fY29uc2VudCIsImV4cCI6MTc2"
    "NzgzMDQwMH0.fVYSypBk4lGX6HctQ_4W7Jvc0LyKavvFlPNRVlOleCY"
)


def _birthday(years: int, days: int = 0) -> date:
    return TODAY.replace(year=TODAY.year - years) - timedelta(days=days)


@pytest.mark.clause("CPE-VI.2")
def test_the_child_threshold_is_14_years_on_the_day_of_the_action(ctx: AccountContext) -> None:
    young = check_age(
        ctx, today=TODAY, date_of_birth=_birthday(14) + timedelta(days=1), age=None, phone=None
    )
    of_age = check_age(ctx, today=TODAY, date_of_birth=_birthday(14), age=None, phone=None)
    assert young.is_child and young.child_until == TODAY + timedelta(days=1)
    assert not of_age.is_child
    assert check_age(ctx, today=TODAY, date_of_birth=None, age=13, phone=None).is_child
    assert not check_age(ctx, today=TODAY, date_of_birth=None, age=14, phone=None).is_child


def test_a_region_may_raise_the_threshold_never_lower_it(runtime: Runtime) -> None:
    ctx = AccountContext.for_runtime(
        with_settings(runtime, child_age_by_region={"DE": 16, "US": 13})
    )
    assert check_age(ctx, today=TODAY, date_of_birth=None, age=15, phone="+4915112345678").is_child
    assert check_age(ctx, today=TODAY, date_of_birth=None, age=13, phone="+12025550123").is_child


def _child_signup(client: TestClient, db: Session) -> tuple[str, str, str, uuid.UUID]:
    email, phone, guardian = unique_email(), unique_phone(), unique_email()
    response = sign_up(
        client,
        email=email,
        phone=phone,
        password=PASSWORD,
        date_of_birth=_birthday(12).isoformat(),
        guardian_email=guardian,
    )
    assert response.status_code == 202, response.text
    child_id = uuid.UUID(str(last_message(db, "account.verify_email", email=email)["subject_id"]))
    return email, phone, guardian, child_id


def _token(db: Session, guardian: str) -> str:
    link = last_message(db, "account.guardian_consent", email=guardian)["link"]
    parsed = urlparse(link)
    assert parsed.path == f"{PREFIX}/guardian-consent"
    return parse_qs(parsed.query)["token"][0]


def _verify_all(client: TestClient, db: Session, email: str, phone: str) -> str:
    status = ""
    for identifier, template, column in (
        (email, "account.verify_email", "email"),
        (phone, "account.verify_phone", "phone"),
    ):
        code = last_message(db, template, **{column: identifier})["code"]
        status = client.post(
            f"{PREFIX}/verification", json={"identifier": identifier, "code": code}
        ).json()["status"]
    return status


@pytest.mark.clause("CPE-VI.1")
@pytest.mark.clause("CORP-6.1")
def test_a_child_account_waits_for_the_guardians_verified_consent(
    client: TestClient, db: Session
) -> None:
    blocked = sign_up(
        client,
        email=unique_email(),
        phone=unique_phone(),
        password=PASSWORD,
        date_of_birth=_birthday(12).isoformat(),
    )
    assert blocked.status_code == 422
    assert {"field": "guardian_email", "rule": "guardian_consent_required"} in blocked.json()[
        "errors"
    ]

    email, phone, guardian, child_id = _child_signup(client, db)
    assert _verify_all(client, db, email, phone) == "awaiting_guardian"
    refused = sign_in(client, email)
    assert refused.status_code == 403 and refused.json()["reason"] == "guardian_consent_required"

    token = _token(db, guardian)
    notice = client.get(f"{PREFIX}/guardian-consent", params={"token": token})
    assert notice.status_code == 200 and "guardian" in notice.json()["notice"]
    answer = client.post(f"{PREFIX}/guardian-consent", json={"token": token, "decision": "grant"})
    assert answer.status_code == 200, answer.text
    event = uuid.UUID(answer.json()["consent_event"])
    ledger = db.execute(sa.text("SELECT * FROM consent_events WHERE id = :e"), {"e": event}).one()
    row = db.execute(
        sa.text("SELECT * FROM account_guardians WHERE child_id = :c"), {"c": child_id}
    ).one()
    assert (ledger.subject_id, ledger.purpose, ledger.action, ledger.channel) == (
        child_id,
        "account.guardian_consent",
        "grant",
        "email",
    )
    assert (row.decision, row.consent_event_id) == ("granted", event)
    assert (
        db.execute(sa.text("SELECT kind FROM subjects WHERE id = :g"), {"g": row.id}).scalar_one()
        == "guardian"
    )
    again = client.post(f"{PREFIX}/guardian-consent", json={"token": token, "decision": "grant"})
    assert again.status_code == 422  # single use
    assert sign_in(client, email).status_code == 201


@pytest.mark.clause("CPE-VI.3")
@pytest.mark.clause("CORP-6.2")
def test_a_childs_data_is_used_only_under_the_guardians_consent(
    client: TestClient, db: Session
) -> None:
    email, phone, guardian, child_id = _child_signup(client, db)
    _verify_all(client, db, email, phone)
    sign_in(client, email)
    flagged = db.execute(
        sa.text(
            "SELECT purpose, element, outcome, details->>'reason' AS reason FROM audit_events "
            "WHERE subject_id = :c AND action = 'personal_data.used' ORDER BY id"
        ),
        {"c": child_id},
    ).all()
    assert ("account.guardian_consent", "accounts.child_until", "refused", "no_consent") in flagged
    # the guardian machinery itself runs under child protection, and is on record
    guardian_uses = db.execute(
        sa.text(
            "SELECT count(*) FROM audit_events WHERE action = 'personal_data.used' "
            "AND purpose = 'account.child_protection' AND outcome = 'ok'"
        )
    ).scalar_one()
    assert guardian_uses >= 2
    token = _token(db, guardian)
    client.post(f"{PREFIX}/guardian-consent", json={"token": token, "decision": "grant"})
    assert sign_in(client, email).status_code == 201


def test_a_guardians_refusal_closes_the_account(client: TestClient, db: Session) -> None:
    _, _, guardian, child_id = _child_signup(client, db)
    token = _token(db, guardian)
    answer = client.post(f"{PREFIX}/guardian-consent", json={"token": token, "decision": "refuse"})
    assert answer.status_code == 200
    status = db.execute(
        sa.text("SELECT status, deregistration_reason FROM accounts WHERE id = :c"), {"c": child_id}
    ).one()
    assert tuple(status) == ("deregistered", "guardian_refused")
    assert "account.deregistered" in audit_actions(db, child_id)


def test_a_forged_or_expired_link_is_refused(
    client: TestClient, db: Session, clock: FakeClock
) -> None:
    _, _, guardian, _ = _child_signup(client, db)
    token = _token(db, guardian)
    forged = token[:-2] + ("AA" if not token.endswith("AA") else "BB")
    assert client.get(f"{PREFIX}/guardian-consent", params={"token": forged}).status_code == 422
    clock.advance(timedelta(days=7))
    expired = client.post(f"{PREFIX}/guardian-consent", json={"token": token, "decision": "grant"})
    assert expired.status_code == 422
    assert expired.json()["errors"] == [{"field": "token", "rule": "invalid_link"}]


def test_a_link_signed_before_the_move_to_joserfc_still_opens(
    client: TestClient, db: Session, runtime: Runtime, clock: FakeClock
) -> None:
    """Links e-mailed before the move to joserfc keep working; new links look the same."""
    _, _, guardian, child_id = _child_signup(client, db)
    assert _token(db, guardian).partition(".")[0] == LEGACY_TOKEN.partition(".")[0]  # the header
    db.execute(sa.delete(Guardian).where(Guardian.child_id == child_id))
    db.add(Subject(id=LEGACY_GUARDIAN, kind=SubjectKind.GUARDIAN))
    db.flush()
    db.add(
        Guardian(
            id=LEGACY_GUARDIAN,
            child_id=child_id,
            email=unique_email(),
            token_hash=hashlib.sha256(LEGACY_JTI.encode()).digest(),
            token_expires_at=clock.now() + timedelta(days=7),
            created_at=clock.now(),
        )
    )
    db.flush()
    legacy = AccountContext.for_runtime(with_settings(runtime, secret_key=SecretStr(LEGACY_SECRET)))
    assert guardian_of_token(db, legacy, LEGACY_TOKEN).id == LEGACY_GUARDIAN
    with pytest.raises(InvalidInputError):  # another secret: another key
        guardian_of_token(db, AccountContext.for_runtime(runtime), LEGACY_TOKEN)


@pytest.mark.clause("CPE-VI.4")
def test_a_childs_data_without_consent_is_deleted_after_the_period(
    client: TestClient, db: Session, runtime: Runtime, ctx: AccountContext, clock: FakeClock
) -> None:
    email, _, _, child_id = _child_signup(client, db)
    clock.advance(timedelta(days=7) - timedelta(hours=1))
    assert sweep(runtime, ctx).children_deregistered == 0
    clock.advance(timedelta(hours=2))
    assert sweep(runtime, ctx).children_deregistered == 1
    jobs = (
        db.execute(
            sa.text("SELECT args FROM procrastinate_jobs WHERE task_name = 'accounts.erase'")
        )
        .scalars()
        .all()
    )
    assert jobs == [{"account_id": str(child_id)}]
    assert erase_account(runtime.sessions, ctx, child_id)
    row = db.execute(sa.text("SELECT * FROM accounts WHERE id = :c"), {"c": child_id}).one()
    assert (row.email, row.phone, row.password_hash, row.child_until) == (None, None, None, None)
    assert row.deregistration_reason == "guardian_consent_missing"
    assert db.execute(sa.text("SELECT count(*) FROM account_guardians")).scalar_one() == 0
    assert (
        db.execute(sa.text("SELECT count(*) FROM subjects WHERE kind = 'guardian'")).scalar_one()
        == 0
    )
    actions = audit_actions(db, child_id)
    assert {"account.deregistered", "account.erased"} <= set(actions)
    assert sign_in(client, email).status_code == 401
