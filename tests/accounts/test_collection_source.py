"""An account names the collection point it was collected at (CORP-1.1): the app's sign-up
stores ``app_signup``; a sign-up from a channel no point is registered for is refused
before anything is written."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from doorstep.accounts.context import AccountContext
from doorstep.accounts.signup import registration
from doorstep.core.errors import InvalidInputError
from tests.accounts.conftest import PASSWORD, sign_up, unique_email, unique_phone


def _count(db: Session, table: str) -> int:
    return int(db.execute(sa.text(f"SELECT count(*) FROM {table}")).scalar_one())


@pytest.mark.clause("CORP-1.1")
def test_a_sign_up_stores_its_point_and_one_from_an_unregistered_channel_stores_nothing(
    client: TestClient, db: Session, ctx: AccountContext
) -> None:
    email, phone = unique_email(), unique_phone()
    response = sign_up(client, email=email, phone=phone, password=PASSWORD, age=30)
    assert response.status_code == 202, response.text
    stored = db.execute(
        sa.text("SELECT source FROM accounts WHERE email = :email"), {"email": email}
    ).scalar_one()
    assert stored == "app_signup"
    assert ctx.policy is not None
    assert "accounts" in ctx.policy.pack.collection_points[stored].records

    before = (_count(db, "subjects"), _count(db, "accounts"), _count(db, "outbox"))
    form = registration.SignUpForm(
        password=PASSWORD, email=unique_email(), phone=unique_phone(), age=30, channel="fax"
    )
    with pytest.raises(InvalidInputError) as refused:
        registration.sign_up(db, ctx, form)
    assert refused.value.fields["errors"] == [{"field": "source", "rule": "required"}]
    assert (_count(db, "subjects"), _count(db, "accounts"), _count(db, "outbox")) == before
