"""Deregistration: self-service and final in the request, refused while devices are bound,
the manual path's business-day deadline, and erasure of what the data map says."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import UTC, date, datetime

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from doorstep.accounts.account.lookup import require_open
from doorstep.accounts.business_days import BusinessCalendar
from doorstep.accounts.context import AccountContext
from doorstep.accounts.deregistration.closing import (
    complete_request,
    list_requests,
    open_request,
    refuse_request,
)
from doorstep.accounts.deregistration.erasure import erase_account
from doorstep.accounts.exceptions import AccountDeregisteredError, DevicesBoundError
from doorstep.asgi import create_app
from doorstep.core.clock import FakeClock
from doorstep.core.runtime import Runtime
from doorstep.schema import metadata
from doorstep.vocabulary.declarations import INFO_KEY, PersonalData
from tests.accounts.conftest import (
    PASSWORD,
    PREFIX,
    activate,
    bearer,
    count_messages,
    sign_in,
    unique_email,
    unique_phone,
    with_settings,
)

CLI = "system:cli"


def _deregister(client: TestClient, token: str, password: str = PASSWORD) -> object:
    return client.post(
        f"{PREFIX}/me/deregistration", headers=bearer(token), json={"password": password}
    )


def registration_leftovers(db: Session, account_id: uuid.UUID) -> dict[str, int]:
    """Columns kept ``until_deregistration`` that still hold a value of the account."""
    found: dict[str, int] = {}
    for table in metadata.tables.values():
        columns = [
            c.name
            for c in table.columns
            if isinstance(c.info.get(INFO_KEY), PersonalData)
            and c.info[INFO_KEY].retention == "until_deregistration"
        ]
        if not columns:
            continue
        key = next(
            (
                c.name
                for c in table.columns
                if any(fk.column.table.name == "accounts" for fk in c.foreign_keys)
            ),
            "id",
        )
        for column in columns:
            count = db.execute(
                sa.text(
                    f'SELECT count(*) FROM "{table.name}" '
                    f'WHERE "{key}" = :a AND "{column}" IS NOT NULL'
                ),
                {"a": account_id},
            ).scalar_one()
            if count:
                found[f"{table.name}.{column}"] = count
    return found


@pytest.mark.clause("CPE-V.5.a")
@pytest.mark.clause("CPE-I.i.1.b")
def test_self_service_deregistration_is_final_in_the_same_request(
    client: TestClient, db: Session, runtime: Runtime, ctx: AccountContext
) -> None:
    email = unique_email()
    account_id = activate(client, db, email=email, phone=unique_phone())
    token = sign_in(client, email).json()["access_token"]
    assert _deregister(client, token, "wrong-password-123").status_code == 401
    done = _deregister(client, token)
    assert done.status_code == 200, done.text
    assert done.json()["status"] == "completed"
    # effective at once: no session, no sign-in, no job keyed on the account
    assert client.get(f"{PREFIX}/me", headers=bearer(token)).status_code == 401
    assert sign_in(client, email).status_code == 401
    with pytest.raises(AccountDeregisteredError) as refused:
        require_open(db, account_id)
    assert refused.value.fields["reason"] == "account_deregistered"
    assert count_messages(db, "account.deregistered", email=email) == 1
    assert erase_account(runtime.sessions, ctx, account_id)
    assert registration_leftovers(db, account_id) == {}
    assert db.execute(sa.text("SELECT count(*) FROM subject_keys")).scalar_one() == 0


@pytest.mark.clause("CPE-I.i.1.d")
def test_registration_data_is_kept_while_the_account_lives_and_goes_at_deregistration(
    client: TestClient, db: Session, runtime: Runtime, ctx: AccountContext, clock: FakeClock
) -> None:
    from datetime import timedelta

    from doorstep.accounts.account.models import DeregistrationReason
    from doorstep.accounts.deregistration.closing import deregister
    from doorstep.accounts.tasks import sweep

    email = unique_email()
    account_id = activate(client, db, email=email, phone=unique_phone())
    for _ in range(5):  # five simulated years of sweeps
        clock.advance(timedelta(days=365))
        sweep(runtime, ctx)
        assert set(registration_leftovers(db, account_id)) == {
            "accounts.email",
            "accounts.phone",
            "accounts.password_hash",
            "accounts.password_changed_at",
            "accounts.email_verified_at",
            "accounts.phone_verified_at",
        }
    assert sign_in(client, email).status_code == 201
    deregister(db, ctx, account_id, reason=DeregistrationReason.SELF_SERVICE, actor=CLI)
    assert erase_account(runtime.sessions, ctx, account_id)
    assert registration_leftovers(db, account_id) == {}


@pytest.mark.clause("CPE-V.5.c")
def test_deregistration_is_refused_while_devices_are_bound(runtime: Runtime, db: Session) -> None:
    bound: dict[uuid.UUID, list[str]] = {}

    def devices(session: Session, subject_id: uuid.UUID, /) -> Sequence[str]:
        return bound.get(subject_id, [])

    app = create_app(runtime)
    app.state.services.bound_devices = devices
    with TestClient(app) as client:
        email = unique_email()
        account_id = activate(client, db, email=email, phone=unique_phone())
        token = sign_in(client, email).json()["access_token"]
        bound[account_id] = ["dev-1", "dev-2"]
        refused = client.post(
            f"{PREFIX}/me/deregistration", headers=bearer(token), json={"password": PASSWORD}
        )
        assert refused.status_code == 409
        body = refused.json()
        assert (body["reason"], body["device_ids"]) == ("devices_bound", ["dev-1", "dev-2"])
        assert "dev-1" in body["detail"] and "Unbind" in body["detail"]
        assert client.get(f"{PREFIX}/me", headers=bearer(token)).status_code == 200
        bound[account_id] = []
        assert (
            client.post(
                f"{PREFIX}/me/deregistration", headers=bearer(token), json={"password": PASSWORD}
            ).status_code
            == 200
        )
    refusals = db.execute(
        sa.text("SELECT count(*) FROM audit_events WHERE action = 'account.deregistration_refused'")
    ).scalar_one()
    assert refusals == 1


def test_an_active_account_is_never_erased(
    client: TestClient, db: Session, runtime: Runtime, ctx: AccountContext
) -> None:
    account_id = activate(client, db, email=unique_email(), phone=unique_phone())
    assert not erase_account(runtime.sessions, ctx, account_id)
    assert registration_leftovers(db, account_id) != {}


@pytest.mark.clause("CPE-V.5.b")
@pytest.mark.parametrize(
    ("received", "due"),
    [
        (datetime(2026, 5, 15, 17, 0, tzinfo=UTC), date(2026, 5, 19)),  # Fri 17:00 -> end of Tue
        (datetime(2026, 5, 18, 9, 0, tzinfo=UTC), date(2026, 5, 20)),  # Mon -> end of Wed
        (datetime(2026, 5, 16, 11, 0, tzinfo=UTC), date(2026, 5, 19)),  # Sat -> end of Tue
        (datetime(2026, 4, 30, 12, 0, tzinfo=UTC), date(2026, 5, 5)),  # Thu, Fri 1 May closed
    ],
)
def test_the_manual_deadline_counts_working_days(received: datetime, due: date) -> None:
    calendar = BusinessCalendar("UTC", [date(2026, 5, 1)])
    deadline = calendar.add_working_days(received, 2)
    assert deadline.date() == due and (deadline.hour, deadline.minute) == (23, 59)


def test_the_deadline_is_the_end_of_the_day_in_the_desks_time_zone() -> None:
    calendar = BusinessCalendar("Asia/Shanghai")
    # Friday 20:00 UTC is already Saturday 04:00 in Shanghai: Mon, Tue count
    deadline = calendar.add_working_days(datetime(2026, 5, 15, 20, 0, tzinfo=UTC), 2)
    assert deadline == datetime(2026, 5, 19, 15, 59, 59, 999999, tzinfo=UTC)


@pytest.mark.clause("CPE-V.5.b")
def test_a_manual_request_is_due_in_two_working_days_and_closes_with_a_notice(
    client: TestClient, db: Session, runtime: Runtime, clock: FakeClock
) -> None:
    ctx = AccountContext.for_runtime(with_settings(runtime, business_holidays=(date(2026, 5, 18),)))
    email = unique_email()
    account_id = activate(client, db, email=email, phone=unique_phone())
    clock.set(datetime(2026, 5, 15, 17, 0, tzinfo=UTC))
    opened = open_request(db, ctx, account_id, actor=CLI)
    assert opened.due_at.date() == date(2026, 5, 20)  # Mon 18 May is a holiday
    clock.set(datetime(2026, 5, 21, 0, 0, tzinfo=UTC))
    assert [r.overdue(clock.now()) for r in list_requests(db)] == [True]
    closed = complete_request(db, ctx, opened.id, actor=CLI)
    assert closed.outcome is not None and closed.outcome.value == "completed"
    assert list_requests(db) == []
    assert count_messages(db, "account.deregistered", email=email) == 1


def test_a_manual_request_can_be_refused_with_a_reason_and_devices_keep_it_open(
    runtime: Runtime, client: TestClient, db: Session
) -> None:
    ctx = AccountContext.for_runtime(runtime)
    email = unique_email()
    account_id = activate(client, db, email=email, phone=unique_phone())
    blocked = AccountContext(
        ctx.settings, ctx.clock, ctx.keys, ctx.gate, bound_devices=lambda s, i, /: ["dev-9"]
    )
    request = open_request(db, blocked, account_id, actor=CLI)
    with pytest.raises(DevicesBoundError):
        complete_request(db, blocked, request.id, actor=CLI)
    refused = refuse_request(db, blocked, request.id, "devices_bound", actor=CLI)
    assert (refused.outcome.value if refused.outcome else None, refused.refusal_reason) == (
        "refused",
        "devices_bound",
    )
    assert count_messages(db, "account.deregistration_refused", email=email) == 1
