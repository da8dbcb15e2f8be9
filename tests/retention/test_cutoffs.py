"""Every rule a sweep executes: untouched one hour before its cutoff, done one hour after.

Each test plants rows whose trigger happened at ``T``, moves the fake clock to
one hour before the instant the rule makes them due (``T + period + offset``),
sweeps, checks nothing changed; then to one hour after, sweeps, and checks
they were deleted or anonymised as the binding says.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from doorstep.core.clock import FakeClock
from doorstep.core.runtime import Runtime
from doorstep.privacy.retention.bindings import ACCOUNT_ERASURE_GRACE
from doorstep.privacy.retention.targets import Target
from tests.retention.conftest import (
    SCRATCH_DEVICES,
    SCRATCH_PPPOE,
    add_account,
    add_device,
    hours,
    schema_targets,
    scratch_targets,
    sweep,
)

T = datetime(2026, 3, 1, 12, tzinfo=UTC)


def _either_side(
    runtime: Runtime,
    clock: FakeClock,
    chosen: list[Target],
    due: datetime,
    handled: Callable[[], bool],
) -> None:
    clock.set(due - hours(1))
    sweep(runtime, chosen)
    assert not handled(), "handled an hour before its cutoff"
    clock.set(due + hours(1))
    sweep(runtime, chosen)
    assert handled(), "not handled an hour after its cutoff"


def _scalar(db: Session, sql: str, **params: object) -> object:
    return db.execute(sa.text(sql), params).scalar()


@pytest.mark.clause("CPE-I.ii.1.c")
def test_a_device_is_anonymised_two_years_after_it_was_last_online(
    db: Session, runtime: Runtime, clock: FakeClock, devices: sa.MetaData
) -> None:
    add_device(db, devices, 1, last_seen=T)
    add_device(db, devices, 2, last_seen=None)  # online now: never due
    db.commit()
    row = f"SELECT serial_number, mac, ip, account_id, model, anonymised_at FROM {SCRATCH_DEVICES}"

    def anonymised() -> bool:
        return db.execute(sa.text(f"{row} WHERE id = 1")).one()[0] is None

    _either_side(
        runtime, clock, scratch_targets(devices, runtime), T + timedelta(days=730), anonymised
    )
    assert db.execute(sa.text(f"{row} WHERE id = 1")).one() == (
        None,
        None,
        None,
        None,
        "ZXHN",
        clock.now(),
    )
    assert db.execute(sa.text(f"{row} WHERE id = 2")).one()[0] == "SN00000002"


@pytest.mark.clause("CPE-I.ii.1.c")
def test_coming_back_online_starts_the_two_years_again(
    db: Session, runtime: Runtime, clock: FakeClock, devices: sa.MetaData
) -> None:
    add_device(db, devices, 1, last_seen=T)
    db.commit()
    clock.set(T + timedelta(days=365))
    db.execute(sa.text(f"UPDATE {SCRATCH_DEVICES} SET last_seen = :now"), {"now": clock.now()})
    db.commit()

    def anonymised() -> bool:
        return _scalar(db, f"SELECT serial_number FROM {SCRATCH_DEVICES}") is None

    clock.set(T + timedelta(days=730) + hours(1))
    sweep(runtime, scratch_targets(devices, runtime))
    assert not anonymised()
    _either_side(
        runtime,
        clock,
        scratch_targets(devices, runtime),
        T + timedelta(days=365 + 730),
        anonymised,
    )


@pytest.mark.clause("CPE-I.ii.1.c")
def test_the_offline_setting_moves_the_start_of_the_two_years(
    db: Session, runtime: Runtime, clock: FakeClock, devices: sa.MetaData
) -> None:
    """X-15: with ``device_offline_after_seconds`` a device is offline only after that silence."""
    settings = runtime.settings.model_copy(update={"device_offline_after_seconds": 86_400})
    runtime = Runtime(settings, runtime.database_url, runtime.engine, runtime.sessions, clock)
    add_device(db, devices, 1, last_seen=T)
    db.commit()
    _either_side(
        runtime,
        clock,
        scratch_targets(devices, runtime),
        T + timedelta(days=731),
        lambda: _scalar(db, f"SELECT anonymised_at FROM {SCRATCH_DEVICES}") is not None,
    )


@pytest.mark.clause("CPE-I.iii.R2")
def test_pppoe_credentials_are_deleted_when_the_device_is_unbound(
    db: Session, runtime: Runtime, clock: FakeClock, devices: sa.MetaData
) -> None:
    table = devices.tables[SCRATCH_PPPOE]
    db.execute(table.insert().values(device_id=1, username=b"c1", password=b"c2", unbound_at=T))
    db.execute(table.insert().values(device_id=2, username=b"c1", password=b"c2"))  # still bound
    db.commit()
    _either_side(
        runtime,
        clock,
        scratch_targets(devices, runtime, "pppoe_credentials"),
        T,
        lambda: _scalar(db, f"SELECT count(*) FROM {SCRATCH_PPPOE} WHERE device_id = 1") == 0,
    )
    assert _scalar(db, f"SELECT count(*) FROM {SCRATCH_PPPOE}") == 1


def _registration(db: Session, account: uuid.UUID) -> tuple[object, ...]:
    return tuple(
        db.execute(
            sa.text(
                "SELECT email, phone, password_hash, email_verified_at, "
                "(SELECT count(*) FROM account_identities WHERE account_id = :id), "
                "(SELECT count(*) FROM account_profiles WHERE account_id = :id), "
                "(SELECT count(*) FROM account_guardians WHERE child_id = :id) "
                "FROM accounts WHERE id = :id"
            ),
            {"id": account},
        ).one()
    )


def _linked_rows(db: Session, account: uuid.UUID, at: datetime) -> None:
    guardian = uuid.uuid4()
    db.execute(
        sa.text("INSERT INTO subjects (id, kind, created_at) VALUES (:g, 'guardian', :at)"),
        {"g": guardian, "at": at},
    )
    db.execute(
        sa.text(
            "INSERT INTO account_identities (id, account_id, provider, provider_subject, "
            "access_token, scope, share_with, linked_at, source) VALUES "
            "(:i, :a, 'p', :s, '\\x00', 'openid', '{}', :at, 'third_party_signin')"
        ),
        {"i": uuid.uuid4(), "a": account, "s": uuid.uuid4().hex, "at": at},
    )
    db.execute(
        sa.text(
            "INSERT INTO account_profiles (account_id, nickname, updated_at) VALUES (:a, 'n', :at)"
        ),
        {"a": account, "at": at},
    )
    db.execute(
        sa.text(
            "INSERT INTO account_guardians (id, child_id, email, token_hash, token_expires_at, "
            "created_at) VALUES (:g, :a, 'g@example.org', '\\x00', :at, :at)"
        ),
        {"g": guardian, "a": account, "at": at},
    )


@pytest.mark.clause("CPE-I.i.1.b")
@pytest.mark.clause("CPE-I.i.1.d")
@pytest.mark.clause("CPE-V.5.d")
def test_registration_data_goes_at_deregistration_and_never_while_the_account_is_active(
    db: Session, runtime: Runtime, clock: FakeClock
) -> None:
    active = add_account(db, created=T - timedelta(days=5 * 365))
    closed = add_account(db, created=T - timedelta(days=5 * 365), deregistered=T)
    for account in (active, closed):
        _linked_rows(db, account, T - timedelta(days=1))
    db.commit()
    chosen = schema_targets(runtime, "until_deregistration")
    assert {str(t.table.name) for t in chosen} == {
        "accounts",
        "account_identities",
        "account_profiles",
        "account_guardians",
    }
    _either_side(
        runtime,
        clock,
        chosen,
        T + ACCOUNT_ERASURE_GRACE,
        lambda: _registration(db, closed) == (None, None, None, None, 0, 0, 0),
    )
    kept = _registration(db, active)
    assert kept[0] is not None and kept[4:] == (1, 1, 1)
    # the pseudonymous tombstone stays (until_erasure), so jobs keyed on it can be refused
    assert _scalar(db, "SELECT status FROM accounts WHERE id = :id", id=closed) == "deregistered"


def _session_row(db: Session, account: uuid.UUID, created: datetime, revoked: bool) -> None:
    db.execute(
        sa.text(
            "INSERT INTO account_sessions (id, account_id, family_id, token_hash, refresh_hash, "
            "created_at, expires_at, refresh_expires_at, revoked_at, end_reason) VALUES "
            "(:id, :a, :f, :t, :r, :at, :at, :at, :rv, :why)"
        ),
        {
            "id": uuid.uuid4(),
            "a": account,
            "f": uuid.uuid4(),
            "t": uuid.uuid4().bytes,
            "r": uuid.uuid4().bytes,
            "at": created,
            "rv": created if revoked else None,
            "why": "signed_out" if revoked else None,
        },
    )


@pytest.mark.clause("CPE-IV.1.c")
def test_a_signed_out_session_is_kept_to_its_period_and_deletes_nothing_else(
    db: Session, runtime: Runtime, clock: FakeClock
) -> None:
    account = add_account(db, created=T - timedelta(days=1))
    _session_row(db, account, T, revoked=True)  # a plain logout
    db.commit()
    _either_side(
        runtime,
        clock,
        schema_targets(runtime, "sign_in_session"),
        T + timedelta(days=30),
        lambda: _scalar(db, "SELECT count(*) FROM account_sessions") == 0,
    )
    assert _registration(db, account)[0] is not None  # the logout deleted no account data


WORKING_DATA = {
    "one_time_code": (
        "INSERT INTO account_verifications (id, account_id, kind, code_hash, created_at, "
        "expires_at) VALUES (gen_random_uuid(), :a, 'verify_email', '\\x00', :t, :t)",
        "account_verifications",
        timedelta(days=1),
    ),
    "rate_limit_window": (
        "INSERT INTO account_rate_limits (bucket, window_start, hits) VALUES ('\\x01', :t, 3)",
        "account_rate_limits",
        timedelta(hours=2),
    ),
    "sign_in_flow": (
        "INSERT INTO account_oidc_flows (state_hash, provider, nonce, code_verifier, share_with, "
        "expires_at) VALUES ('\\x02', 'p', 'n', 'v', '{}', :t + interval '10 minutes')",
        "account_oidc_flows",
        timedelta(hours=1),
    ),
    "deregistration_request": (
        "INSERT INTO account_deregistration_requests (id, account_id, received_at, due_at, "
        "closed_at, outcome) VALUES (gen_random_uuid(), :a, :t, :t, :t, 'completed')",
        "account_deregistration_requests",
        timedelta(days=3 * 365),
    ),
    "outbox_messages": (
        "INSERT INTO outbox (id, subject_id, channel, template, locale, email, status, "
        "created_at, sent_at, finished_at) VALUES (gen_random_uuid(), :a, 'email', "
        "'account.verify_email', 'en', 'x@example.org', 'sent', :t, :t, :t)",
        "outbox",
        timedelta(days=30),
    ),
}


@pytest.mark.clause("CORP-5.4")
@pytest.mark.parametrize("rule", sorted(WORKING_DATA))
def test_working_data_is_deleted_at_the_end_of_its_period(
    db: Session, runtime: Runtime, clock: FakeClock, rule: str
) -> None:
    insert, table, period = WORKING_DATA[rule]
    account = add_account(db, created=T - timedelta(days=1))
    db.execute(sa.text(insert), {"a": account, "t": T})
    db.commit()
    _either_side(
        runtime,
        clock,
        schema_targets(runtime, rule),
        T + period,
        lambda: _scalar(db, f"SELECT count(*) FROM {table}") == 0,
    )


@pytest.mark.clause("CPE-IV.3.b")
def test_a_setting_shortens_a_period(db: Session, runtime: Runtime, clock: FakeClock) -> None:
    settings = runtime.settings.model_copy(update={"retention_periods": {"outbox_messages": "P7D"}})
    runtime = Runtime(settings, runtime.database_url, runtime.engine, runtime.sessions, clock)
    insert, table, _ = WORKING_DATA["outbox_messages"]
    db.execute(sa.text(insert), {"a": uuid.uuid4(), "t": T})
    db.commit()
    _either_side(
        runtime,
        clock,
        schema_targets(runtime, "outbox_messages"),
        T + timedelta(days=7),
        lambda: _scalar(db, f"SELECT count(*) FROM {table}") == 0,
    )


def test_a_pseudonym_a_coarsened_value_and_an_extra_condition(
    db: Session, runtime: Runtime, clock: FakeClock
) -> None:
    """Anonymise to a fixed pseudonym and a coarser value; ``where`` narrows what expires."""
    from doorstep.privacy.retention import Anonymise, Binding, Coarsen, retention_info
    from tests.retention.conftest import device_schema

    scratch = device_schema()
    table = scratch.tables[SCRATCH_DEVICES]
    table.info.update(
        retention_info(
            Binding(
                "device_registration",
                Anonymise(
                    {
                        "serial_number": "anonymised",
                        "mac": None,
                        "ip": Coarsen("split_part(ip, '.', 1) || '.0.0.0'"),
                        "account_id": None,
                    },
                    marker="anonymised_at",
                ),
                trigger="last_seen",
                where="model <> 'KEEP'",
            )
        )
    )
    scratch.create_all(db.connection())
    add_device(db, scratch, 1, last_seen=T)
    add_device(db, scratch, 2, last_seen=T)
    db.execute(sa.text(f"UPDATE {SCRATCH_DEVICES} SET model = 'KEEP' WHERE id = 2"))
    db.commit()
    _either_side(
        runtime,
        clock,
        scratch_targets(scratch, runtime),
        T + timedelta(days=730),
        lambda: (
            _scalar(db, f"SELECT anonymised_at FROM {SCRATCH_DEVICES} WHERE id = 1") is not None
        ),
    )
    rows = db.execute(sa.text(f"SELECT serial_number, mac, ip FROM {SCRATCH_DEVICES} ORDER BY id"))
    assert [tuple(row) for row in rows] == [
        ("anonymised", None, "198.0.0.0"),
        ("SN00000002", "02:00:00:02:00:01", "198.51.100.7"),
    ]
