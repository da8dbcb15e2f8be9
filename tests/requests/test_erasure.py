"""Erasure driven by the data map: complete, resumable, never partial, replayable."""

from __future__ import annotations

import uuid

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from doorstep.audit.services import flush_events
from doorstep.core.clock import FakeClock
from doorstep.core.errors import ConflictError
from doorstep.keys.services import KeyService
from doorstep.privacy.datamap.pack import default_pack
from doorstep.privacy.requests import services as svc
from doorstep.privacy.requests.context import RequestContext
from doorstep.privacy.requests.erasure import replay, tombstones
from doorstep.privacy.requests.erasure_plan import plan
from doorstep.privacy.requests.erasure_requests import erase_for_request
from doorstep.privacy.requests.export import collect
from doorstep.privacy.requests.models import RequestStatus
from doorstep.privacy.subjects.models import Subject, SubjectKind
from doorstep.schema import metadata
from tests.requests.conftest import STAFF, bound_device, new_account, verified

KEPT = {
    "audit_events",
    "subject_requests",
    "erasure_tombstones",
    "recipient_notices",
    "legal_holds",
    "legal_hold_deferrals",
    # each connected system's part of a request: evidence it was asked and answered
    "request_systems",
    # a connected system's record whose deletion is scheduled: kept so it still happens
    "completion_events",
}


def left_of(db: Session, keys: KeyService, subject: uuid.UUID) -> set[str]:
    """The tables still holding rows of an erased subject, checked to be evidence only.

    Besides the evidence, the outbox may hold exactly one message: the
    confirmation of the erasure, queued after it (it goes with the outbox's
    own retention; its content is blanked once sent).
    """
    found = collect(db, keys, metadata, subject)
    params = db.execute(sa.text("SELECT params FROM outbox WHERE subject_id = :s"), {"s": subject})
    for (message,) in params:  # exports omit params (one-time codes): read them here
        assert message is None or set(message) == {"reference"}
    left = set(found) - {"outbox"}
    assert left <= KEPT
    return left


class Killed(Exception):
    """A worker dying half-way."""


def _deletion(db: Session, ctx: RequestContext, subject: uuid.UUID) -> uuid.UUID:
    return verified(db, ctx, subject, "deletion", ground="NO_LONGER_USED_OR_ACCOUNT_CANCELLED")


def test_the_plan_keeps_only_evidence() -> None:
    steps = {step.table: step.action for step in plan(metadata, default_pack())}
    assert {name for name, action in steps.items() if action == "keep"} == KEPT | {
        "account_deregistration_requests",
        "device_registrations",
        "device_time_zones",  # kept with the registration record (decision 0045)
    }
    assert steps["outbox"] == "delete"
    assert steps["accounts"] == "cascade"


@pytest.mark.clause("CPE-V.3.a")
@pytest.mark.clause("CPE-V.3.b")
def test_erasure_removes_every_element_but_the_evidence_and_spares_a_look_alike(
    db: Session,
    ctx: RequestContext,
    keys: KeyService,
    clock: FakeClock,
) -> None:
    mine = new_account(db, keys, clock, "token-of-A")
    other = new_account(db, keys, clock, "token-of-B")
    flush_events(db)
    before_other = collect(db, keys, metadata, other)
    request_id = _deletion(db, ctx, mine)
    done = erase_for_request(db, ctx, keys, request_id, actor=STAFF)
    assert done.status is RequestStatus.COMPLETED
    db.expire_all()
    left_of(db, keys, mine)
    assert db.get(Subject, mine) is None
    assert keys.keyring.is_destroyed(mine)
    assert mine in tombstones(db)
    flush_events(db)
    assert collect(db, keys, metadata, other).keys() == before_other.keys()
    grounds = (
        db.execute(
            sa.text(
                "SELECT details->>'ground' FROM audit_events "
                "WHERE action = 'request.erasure_ground'"
            )
        )
        .scalars()
        .all()
    )
    assert grounds == ["NO_LONGER_USED_OR_ACCOUNT_CANCELLED"]


def test_erasure_needs_a_verified_deletion_request(
    db: Session,
    ctx: RequestContext,
    keys: KeyService,
    clock: FakeClock,
) -> None:
    mine = new_account(db, keys, clock, "token-of-A")
    row = svc.open_request(
        db,
        ctx,
        subject_id=mine,
        kind="deletion",
        channel="app",
        actor=STAFF,
        ground="NO_PERMISSION",
    )
    with pytest.raises(ConflictError):
        erase_for_request(db, ctx, keys, row.id, actor=STAFF)
    assert db.get(Subject, mine) is not None


def test_a_worker_killed_half_way_changes_nothing_and_the_retry_finishes(
    db: Session,
    ctx: RequestContext,
    keys: KeyService,
    clock: FakeClock,
) -> None:
    mine = new_account(db, keys, clock, "token-of-A")
    request_id = _deletion(db, ctx, mine)
    db.commit()

    def die(step: str) -> None:
        if step == "keys":
            raise Killed

    with pytest.raises(Killed), db.begin_nested():
        erase_for_request(db, ctx, keys, request_id, actor=STAFF, after_step=die)
    db.expire_all()
    assert db.get(Subject, mine) is not None
    assert "accounts" in collect(db, keys, metadata, mine)
    assert svc.get(db, request_id).status is RequestStatus.IN_PROGRESS
    erase_for_request(db, ctx, keys, request_id, actor=STAFF)
    db.expire_all()
    assert db.get(Subject, mine) is None
    assert svc.get(db, request_id).status is RequestStatus.COMPLETED
    # a finished erasure is a no-op
    assert (
        erase_for_request(db, ctx, keys, request_id, actor=STAFF).status is RequestStatus.COMPLETED
    )


@pytest.mark.clause("CPE-V.3.d")
def test_a_restored_subject_is_erased_again_by_replaying_the_tombstones(
    db: Session,
    ctx: RequestContext,
    keys: KeyService,
    clock: FakeClock,
) -> None:
    mine = new_account(db, keys, clock, "token-of-A")
    erase_for_request(db, ctx, keys, _deletion(db, ctx, mine), actor=STAFF)
    saved = tombstones(db)
    db.add(Subject(id=mine, kind=SubjectKind.SUBSCRIBER))  # the backup brings it back
    db.flush()
    assert replay(db, ctx, keys, saved, actor=STAFF) == 1
    db.expire_all()
    assert db.get(Subject, mine) is None
    assert replay(db, ctx, keys, saved, actor=STAFF) == 0


def test_a_subject_with_a_bound_device_is_exported_and_erased_through_the_binding(
    db: Session, ctx: RequestContext, keys: KeyService, clock: FakeClock
) -> None:
    mine = new_account(db, keys, clock, "token-of-A")
    other = new_account(db, keys, clock, "token-of-B")
    bound_device(db, keys, clock, mine)
    bound_device(db, keys, clock, other)
    found = collect(db, keys, metadata, mine)
    (pppoe,) = found["device_pppoe"]
    assert pppoe["username"] == f"username-of-{mine}"
    assert pppoe["password"].startswith("A PPPoE password is stored")
    assert str(other) not in str(found)
    erase_for_request(db, ctx, keys, _deletion(db, ctx, mine), actor=STAFF)
    db.expire_all()
    left_of(db, keys, mine)
    assert len(collect(db, keys, metadata, other)["device_pppoe"]) == 1
