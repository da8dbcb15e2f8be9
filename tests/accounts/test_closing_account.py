"""Closing an account deletes all of its registration information (CORP-5.5).

Doorstep runs no online shop: the account a subscriber closes is their Doorstep
account, and CORP-5.5's promise is read for it.  Closing is the self-service
deregistration followed by its erasure job; what may stay is only what a retention
rule other than ``until_deregistration`` keeps (the audit trail, the consent ledger
until the subject is erased, messages still in the outbox for its own period).
"""

from __future__ import annotations

from collections import defaultdict

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from doorstep.accounts.context import AccountContext
from doorstep.accounts.deregistration.erasure import erase_account
from doorstep.core.runtime import Runtime
from doorstep.privacy.requests.export import collect
from doorstep.schema import metadata
from doorstep.vocabulary.declarations import INFO_KEY, PersonalData
from doorstep.wiring import build_services
from tests.accounts.conftest import (
    PASSWORD,
    PREFIX,
    activate,
    bearer,
    sign_in,
    unique_email,
    unique_phone,
)

#: What closing leaves by design, each under its own retention rule.
KEPT_TABLES = {
    "accounts",
    "audit_events",
    "consent_events",
    "outbox",
    "policy_acceptances",
    "subjects",
    "subject_regions",  # the home country: until_erasure, like the consent ledger (0031)
    "transfer_mechanisms",  # consents to messages abroad: until_erasure, like the ledger (0035)
}
ACCOUNT_TABLES = {"account_profiles", "account_sessions", "account_verifications"}


def _rules_holding_values(found: dict[str, list[dict[str, object]]]) -> dict[str, set[str]]:
    """``{retention rule: elements}`` of every personal value the export still finds."""
    rules: dict[str, set[str]] = defaultdict(set)
    for name, rows in found.items():
        for column in metadata.tables[name].columns:
            declaration = column.info.get(INFO_KEY)
            if isinstance(declaration, PersonalData) and any(
                row.get(column.name) is not None for row in rows
            ):
                rules[declaration.retention].add(f"{name}.{column.name}")
    return rules


@pytest.mark.clause("CORP-5.5")
def test_closing_an_account_deletes_all_of_its_registration_information(
    client: TestClient, db: Session, runtime: Runtime, ctx: AccountContext
) -> None:
    email = unique_email()
    account_id = activate(client, db, email=email, phone=unique_phone())
    token = sign_in(client, email).json()["access_token"]
    assert client.post(f"{PREFIX}/me/profile/consent", headers=bearer(token)).status_code == 201
    profile = {"nickname": "Ann", "date_of_birth": "1990-04-01"}
    assert client.put(f"{PREFIX}/me/profile", headers=bearer(token), json=profile).is_success
    keys = build_services(runtime).keys
    before = collect(db, keys, metadata, account_id)
    assert set(before) >= ACCOUNT_TABLES
    assert "until_deregistration" in _rules_holding_values(before)

    closed = client.post(
        f"{PREFIX}/me/deregistration", headers=bearer(token), json={"password": PASSWORD}
    )
    assert closed.status_code == 200, closed.text
    assert erase_account(runtime.sessions, ctx, account_id)

    after = collect(db, keys, metadata, account_id)
    assert set(after) <= KEPT_TABLES, set(after) - KEPT_TABLES
    [account] = after["accounts"]
    for field in ("email", "phone", "password_hash", "email_verified_at", "phone_verified_at"):
        assert account[field] is None, field
    left = _rules_holding_values(after)
    assert "until_deregistration" not in left, left["until_deregistration"]
    assert set(left) <= {"audit_trail", "until_erasure", "outbox_messages"}, left
