"""Acknowledgement of the policy at sign-up (CPE-0.5): before the account, version and channel."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from doorstep.accounts.account.models import Account
from doorstep.privacy.policies.models import PolicyAnswer
from tests.accounts.conftest import PASSWORD, PREFIX, unique_email, unique_phone


def _body(**extra: object) -> dict[str, object]:
    return {
        "email": unique_email(),
        "phone": unique_phone(),
        "password": PASSWORD,
        "age": 30,
        "transfer_consent": True,  # a German number; the relays are in CN (decision 0035)
        **extra,
    }


@pytest.mark.clause("CPE-0.5")
@pytest.mark.clause("CPE-0.2")
def test_sign_up_without_acknowledging_the_policy_is_refused_and_with_it_is_recorded(
    client: TestClient, db: Session
) -> None:
    body = _body()
    refused = client.post(f"{PREFIX}/signup", json=body)
    assert refused.status_code == 422
    assert refused.json()["reason"] == "policy_not_acknowledged"
    assert refused.json()["policy_version"] == "1.1"  # what to show and acknowledge
    stale = client.post(f"{PREFIX}/signup", json={**body, "policy_version": "0.9"})
    assert stale.status_code == 422 and stale.json()["reason"] == "policy_not_acknowledged"
    assert db.scalar(sa.select(sa.func.count()).where(Account.email == body["email"])) == 0
    assert db.scalar(sa.select(sa.func.count()).select_from(PolicyAnswer)) == 0

    accepted = client.post(f"{PREFIX}/signup", json={**body, "policy_version": "1.1"})
    assert accepted.status_code == 202, accepted.text
    account = db.scalars(sa.select(Account).where(Account.email == body["email"])).one()
    answer = db.scalars(sa.select(PolicyAnswer).where(PolicyAnswer.subject_id == account.id)).one()
    assert answer.version_id == "1.1"
    assert answer.kind.value == "acknowledge" and answer.channel.value == "api"
    assert answer.occurred_at <= account.created_at  # before the account row


def test_the_sign_up_page_shows_the_policy_version_it_acknowledges(
    client: TestClient, db: Session
) -> None:
    page = client.get("/signup").text
    assert 'name="policy_version" value="1.1"' in page
    assert 'href="/policy/versions/1.1"' in page
