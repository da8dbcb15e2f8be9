"""Erasure of a held subject: the held part stays, the rest goes, the refusal is recorded,
and releasing the hold lets a real worker finish the erasure and complete the request."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from doorstep.audit.services import flush_events
from doorstep.core.clock import FakeClock
from doorstep.core.runtime import Runtime
from doorstep.jobs.worker import run_worker
from doorstep.keys.services import KeyService
from doorstep.privacy.datamap.pack import default_pack
from doorstep.privacy.holds import services as holds
from doorstep.privacy.holds.elements import Held
from doorstep.privacy.requests import fulfil
from doorstep.privacy.requests.context import RequestContext
from doorstep.privacy.requests.erasure_plan import plan
from doorstep.privacy.requests.erasure_requests import erase_for_request
from doorstep.privacy.requests.models import RequestStatus, SubjectRequest
from doorstep.schema import metadata
from doorstep.wiring import build_services
from tests.holds.conftest import OFFICER, hold
from tests.requests.conftest import STAFF, actions, bound_device, new_account, verified

GROUND = "NO_LONGER_USED_OR_ACCOUNT_CANCELLED"


def _count(db: Session, table: str, column: str, subject: uuid.UUID) -> int:
    query = sa.text(f"SELECT count(*) FROM {table} WHERE {column} = :s")
    return int(db.scalar(query, {"s": subject}) or 0)


def _templates(db: Session, subject: uuid.UUID) -> list[str]:
    rows = db.execute(
        sa.text("SELECT template FROM outbox WHERE subject_id = :s ORDER BY created_at, id"),
        {"s": subject},
    )
    return [row.template for row in rows]


def test_the_plan_keeps_what_a_hold_names_and_the_rows_it_hangs_on() -> None:
    pack = default_pack()
    free = {step.table: step.action for step in plan(metadata, pack)}
    assert free["accounts"] == "cascade" and free["device_pppoe"] == "cascade"
    held = {step.table: step for step in plan(metadata, pack, Held(frozenset({"device_pppoe"})))}
    assert held["device_pppoe"].action == "held"
    assert held["device_bindings"].action == "held"  # the PPPoE row cascades from its binding
    assert held["accounts"].action == "delete"  # the subject stays: nothing cascades
    nickname = Held(frozenset({"account_profiles.nickname"}))
    column = {step.table: step for step in plan(metadata, pack, nickname)}
    assert column["account_profiles"].action == "anonymise"
    assert column["account_profiles"].columns == ("avatar", "date_of_birth")
    # an account row keeps its CHECK rules (an open account has a password): it stays whole
    email = Held(frozenset({"accounts.email"}))
    account = {step.table: step for step in plan(metadata, pack, email)}
    assert account["accounts"].action == "held"
    assert account["account_identities"].action == "delete"  # the account row stays


@pytest.mark.clause("CPE-IV.3.b")
def test_a_held_element_is_kept_the_rest_erased_and_the_request_answered_in_part(
    db: Session, ctx: RequestContext, keys: KeyService, clock: FakeClock
) -> None:
    subject = new_account(db, keys, clock, "token-of-held")
    bound_device(db, keys, clock, subject)
    placed = hold(db, clock, subject, "device_pppoe")
    request_id = verified(db, ctx, subject, "deletion", ground=GROUND)
    row = erase_for_request(db, ctx, keys, request_id, actor=STAFF)
    db.expire_all()
    # answered in part: the refusal code for the held part, the request stays open
    assert row.status is RequestStatus.IN_PROGRESS
    assert row.refusal_code == "LEGAL_HOLD" and row.closed_at is None
    # the held element (and the binding it hangs on) stays, readable: the key is kept
    assert _count(db, "device_bindings", "subject_id", subject) == 1
    pppoe = db.execute(
        sa.text(
            "SELECT p.username FROM device_pppoe p JOIN device_bindings b ON b.id = p.binding_id "
            "WHERE b.subject_id = :s"
        ),
        {"s": subject},
    ).scalar_one()
    assert keys.decrypt(db, subject, pppoe, context="device_pppoe.username").startswith(b"username")
    # everything else is gone
    assert _count(db, "accounts", "id", subject) == 0
    assert _count(db, "account_identities", "account_id", subject) == 0
    assert _count(db, "restrictions", "subject_id", subject) == 0
    assert _count(db, "erasure_tombstones", "subject_id", subject) == 0  # not finished yet
    assert _templates(db, subject)[-1] == "request.partly_refused"
    flush_events(db)
    assert {"hold.deferred", "request.partly_refused", "subject.erased"} <= set(
        actions(db, subject)
    )
    erased = db.execute(
        sa.text(
            "SELECT details FROM audit_events WHERE action = 'subject.erased' AND subject_id = :s"
        ),
        {"s": subject},
    ).scalar_one()
    assert erased["partial"] is True and erased["held"] == "device_pppoe"
    assert holds.standing(db, subject)[0].id == placed.id


def test_a_hold_on_all_of_a_subject_keeps_everything(
    db: Session, ctx: RequestContext, keys: KeyService, clock: FakeClock
) -> None:
    subject = new_account(db, keys, clock, "token-of-all")
    hold(db, clock, subject, basis="COURT_ORDER", reference="3-O-7-26")
    request_id = verified(db, ctx, subject, "deletion", ground=GROUND)
    row = erase_for_request(db, ctx, keys, request_id, actor=STAFF)
    assert row.refusal_code == "LEGAL_HOLD"
    db.expire_all()
    assert _count(db, "accounts", "id", subject) == 1
    assert _count(db, "account_identities", "account_id", subject) == 1
    assert not keys.keyring.is_destroyed(subject)
    # run again (a retried job): the requester is not told twice
    erase_for_request(db, ctx, keys, request_id, actor=STAFF)
    assert _templates(db, subject).count("request.partly_refused") == 1


def _drain(runtime: Runtime) -> None:
    asyncio.run(run_worker(runtime, wait=False, install_signal_handlers=False, concurrency=1))


def _request(runtime: Runtime, request_id: uuid.UUID) -> Any:
    with runtime.sessions() as db:
        return db.execute(
            sa.select(SubjectRequest.status, SubjectRequest.refusal_code).where(
                SubjectRequest.id == request_id
            )
        ).one()


@pytest.mark.clause("CPE-IV.3.b")
def test_releasing_the_hold_lets_a_worker_finish_the_erasure_and_complete_the_request(
    committed: Runtime, clock: FakeClock
) -> None:
    services = build_services(committed)
    ctx = RequestContext.of(services)
    with committed.sessions.begin() as db:
        subject = new_account(db, services.keys, clock, "token-of-released")
        placed = hold(db, clock, subject, "accounts.email").id
        request_id = verified(db, ctx, subject, "deletion", ground=GROUND)
        fulfil.approve(db, ctx, request_id, actor=STAFF)
    _drain(committed)  # the erasure job meets the hold
    assert tuple(_request(committed, request_id)) == (RequestStatus.IN_PROGRESS, "LEGAL_HOLD")
    with committed.sessions() as db:
        email = db.scalar(sa.text("SELECT email FROM accounts WHERE id = :s"), {"s": subject})
        assert email is not None  # held
        assert _count(db, "account_identities", "account_id", subject) == 0
        assert _templates(db, subject)[-1] == "request.partly_refused"
    with committed.sessions.begin() as db:
        holds.release(db, clock, placed, actor=OFFICER)
    _drain(committed)  # the deferred erasure runs by itself
    assert tuple(_request(committed, request_id)) == (RequestStatus.COMPLETED, "LEGAL_HOLD")
    with committed.sessions() as db:
        assert _count(db, "subjects", "id", subject) == 0
        assert _count(db, "accounts", "id", subject) == 0
        assert _count(db, "erasure_tombstones", "subject_id", subject) == 1
        assert _templates(db, subject)[-1] == "request.completed"  # the address was held
        jobs = db.execute(
            sa.text(
                "SELECT status FROM procrastinate_jobs WHERE task_name = 'requests.erase' "
                "ORDER BY id"
            )
        ).scalars()
        assert list(jobs) == ["succeeded", "succeeded"]
        assert keys_destroyed(services.keys, subject)


def keys_destroyed(keys: KeyService, subject: uuid.UUID) -> bool:
    """Whether the subject's data key was crypto-shredded."""
    return keys.keyring.is_destroyed(subject)
