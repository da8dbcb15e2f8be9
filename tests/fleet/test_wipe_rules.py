"""The rules around removing a subscriber's settings from a router, without a network
(decision 0042): the deadline and the report to staff, bad input and refusals that change
nothing, the new owner's settings held back, erasure of the link, and the confirmations.

The routers never connect here; what they do when they do is tests/fleet/test_wipe_router.py.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from doorstep.accounts.account.models import DeregistrationReason
from doorstep.accounts.context import AccountContext
from doorstep.accounts.deregistration.closing import deregister
from doorstep.asgi import create_app
from doorstep.core.clock import FakeClock
from doorstep.core.runtime import Runtime
from doorstep.devices import pppoe
from doorstep.devices.fleet import wipe_words
from doorstep.devices.fleet.operations import DeviceOperation, OperationKind, OperationState
from doorstep.devices.fleet.sweep import fleet_sweep
from doorstep.devices.fleet.wipe_guard import DeviceBeingClearedError
from doorstep.devices.fleet.wipe_models import DeviceWipe, WipeState, WipeTrigger
from doorstep.devices.fleet.wipe_origin import CONFIRM_TASK, confirm
from doorstep.devices.fleet.wipes import failed_wipes, mark_device, unbind_and_wipe
from doorstep.privacy.requests.context import RequestContext
from doorstep.privacy.requests.erasure_requests import erase_for_request
from doorstep.privacy.restrictions.services import restrict
from doorstep.usp.config import UspConfig
from doorstep.wiring import Services, build_services
from tests.devices.conftest import PREFIX, add_subscriber, bearer, device_id_of, devices_for
from tests.devices.conftest import provision as provision_agents
from tests.packs import reference_pack
from tests.requests.conftest import STAFF, verified


@pytest.fixture
def services(runtime: Runtime) -> Services:
    """The services of the test runtime (its gate, keys and settings)."""
    return build_services(runtime)


def _bound(db: Session, runtime: Runtime) -> tuple[uuid.UUID, uuid.UUID, str]:
    """A provisioned router bound to a new subscriber: (device, subject, token)."""
    (agent,) = devices_for(UspConfig(), 1)
    provision_agents(db, runtime, [agent])
    subject, token = add_subscriber(db, runtime)
    device = device_id_of(db, runtime, agent)
    db.execute(
        sa.text(
            "INSERT INTO device_bindings (id, device_id, subject_id, method, bound_at) "
            "VALUES (:id, :d, :s, 'manual', :at)"
        ),
        {"id": uuid.uuid4(), "d": device, "s": subject, "at": runtime.clock.now()},
    )
    return device, subject, token


def _wipe(db: Session, runtime: Runtime, services: Services) -> tuple[DeviceWipe, uuid.UUID]:
    device, subject, _token = _bound(db, runtime)
    wipe = unbind_and_wipe(
        db,
        services.gate,
        subject_id=subject,
        device_id=device,
        settings=runtime.settings,
        clock=runtime.clock,
    )
    return wipe, subject


def _count(db: Session, query: str, **params: Any) -> int:
    return int(db.execute(sa.text(query), params).scalar_one())


def _outbox(db: Session, subject: uuid.UUID) -> list[tuple[str, dict[str, str]]]:
    rows = db.execute(
        sa.text("SELECT template, params FROM outbox WHERE subject_id = :s ORDER BY created_at"),
        {"s": subject},
    ).all()
    return [(str(row.template), dict(row.params or {})) for row in rows]


def test_a_router_that_never_comes_back_fails_after_the_deadline_and_is_reported(
    db: Session, runtime: Runtime, services: Services, clock: FakeClock
) -> None:
    wipe, subject = _wipe(db, runtime, services)
    op = db.scalars(sa.select(DeviceOperation).where(DeviceOperation.origin_id == wipe.id)).one()
    assert (op.kind, op.purpose) == (OperationKind.WIPE_SETTINGS, "device.settings_removal")
    assert op.deadline_at - op.created_at == timedelta(days=30)
    assert set(op.args) == {"wipe_id", "mode", "ssid"}  # ids and the neutral name only
    db.commit()  # the sweep runs in transactions of its own (savepoints of the test's)

    clock.advance(timedelta(days=29, hours=23))
    assert fleet_sweep(runtime).timed_out == 0
    clock.advance(timedelta(hours=2))
    assert fleet_sweep(runtime).timed_out == 1
    db.expire_all()
    assert op.state is OperationState.FAILED and op.reason == "unreachable"
    assert (wipe.state, wipe.reason) == (WipeState.FAILED, "unreachable")
    assert wipe.parts == {"pppoe": "pending", "wifi": "pending", "hosts": "pending"}
    failed = db.execute(
        sa.text(
            "SELECT outcome, subject_id, details->>'reason' AS reason FROM audit_events "
            "WHERE action = 'devices.wipe_failed' AND details->>'wipe_id' = :w"
        ),
        {"w": str(wipe.id)},
    ).one()
    assert (failed.outcome, failed.subject_id, failed.reason) == ("failed", subject, "unreachable")
    assert [w.id for w in failed_wipes(db)] == [wipe.id]  # the console's and the CLI's list
    jobs = _count(
        db,
        "SELECT count(*) FROM procrastinate_jobs WHERE task_name = :t AND args->>'wipe_id' = :w",
        t=CONFIRM_TASK,
        w=str(wipe.id),
    )
    assert jobs == 1
    assert confirm(db, services.gate, wipe.id, clock=clock)
    assert not confirm(db, services.gate, wipe.id, clock=clock)  # once
    assert _outbox(db, subject) == [
        (
            "device.settings_not_removed",
            {"removed": wipe.requested_at.date().isoformat(), "outcome": wipe_words.NOT_REACHED},
        )
    ]


@pytest.fixture
def client(runtime: Runtime) -> Iterator[TestClient]:
    """The app on the test's rolled-back transaction, as an app (problem documents)."""
    with TestClient(create_app(runtime), base_url="http://127.0.0.1") as test_client:
        yield test_client


def _state(db: Session, device: uuid.UUID) -> tuple[int, int, int]:
    """(open bindings, removals, operations) of the device."""
    return (
        _count(
            db,
            "SELECT count(*) FROM device_bindings WHERE device_id = :d AND unbound_at IS NULL",
            d=device,
        ),
        _count(db, "SELECT count(*) FROM device_wipes WHERE device_id = :d", d=device),
        _count(db, "SELECT count(*) FROM device_operations WHERE device_id = :d", d=device),
    )


def test_the_api_refuses_bad_input_strangers_and_a_restriction_and_changes_nothing(
    db: Session, runtime: Runtime, client: TestClient, clock: FakeClock
) -> None:
    device, subject, token = _bound(db, runtime)
    _other, _stranger, stranger_token = _bound(db, runtime)
    url = f"{PREFIX}/{device}/binding"

    bad = client.delete(url, params={"wipe_settings": "perhaps"}, headers=bearer(token))
    assert bad.status_code == 422 and bad.headers["content-type"].startswith(
        "application/problem+json"
    )
    assert _state(db, device) == (1, 0, 0)

    foreign = client.delete(url, params={"wipe_settings": "true"}, headers=bearer(stranger_token))
    assert foreign.status_code == 404
    assert _state(db, device) == (1, 0, 0)

    restrict(
        db,
        subject_id=subject,
        purpose="device.settings_removal",
        reason="objection",
        clock=clock,
        actor=STAFF,
        pack=reference_pack(),
    )
    refused = client.delete(url, params={"wipe_settings": "true"}, headers=bearer(token))
    assert refused.status_code == 403, refused.text
    assert refused.json()["reason"] == "restricted"
    assert _state(db, device) == (1, 0, 0)  # still bound: nothing changed

    plain = client.delete(url, headers=bearer(token))  # unbinding alone is always possible
    assert plain.status_code == 204
    assert _state(db, device) == (0, 0, 0)
    assert client.get(f"{PREFIX}/wipes", headers=bearer(token)).json() == {"wipes": []}
    assert client.get(f"{PREFIX}/wipes/{uuid.uuid4()}", headers=bearer(token)).status_code == 404


def test_a_removal_queued_once_and_shown_only_to_its_subscriber(
    db: Session, runtime: Runtime, client: TestClient, services: Services
) -> None:
    device, subject, token = _bound(db, runtime)
    _other, _stranger, stranger_token = _bound(db, runtime)
    answer = client.delete(
        f"{PREFIX}/{device}/binding", params={"wipe_settings": "true"}, headers=bearer(token)
    )
    assert answer.status_code == 202, answer.text
    wipe_id = answer.json()["wipe_id"]
    assert _state(db, device) == (0, 1, 1)
    # the store keeps no PPPoE for the ended binding, and staff marking it resold adds nothing
    marked = mark_device(
        db,
        device,
        WipeTrigger.RESOLD,
        wipe=True,
        actor=STAFF,
        settings=runtime.settings,
        clock=runtime.clock,
    )
    assert marked.wipe is not None and str(marked.wipe.id) == wipe_id
    assert _state(db, device) == (0, 1, 1)
    mine = client.get(f"{PREFIX}/wipes", headers=bearer(token)).json()["wipes"]
    assert [w["wipe_id"] for w in mine] == [wipe_id]
    assert mine[0]["state"] == "pending"
    assert client.get(f"{PREFIX}/wipes/{wipe_id}", headers=bearer(stranger_token)).status_code == (
        404
    )
    assert client.get(f"{PREFIX}/wipes", headers=bearer(stranger_token)).json() == {"wipes": []}
    reads = _count(
        db,
        "SELECT count(*) FROM audit_events WHERE action = 'devices.wipes_read' AND subject_id = :s",
        s=subject,
    )
    assert reads == 1


def test_a_pending_removal_holds_back_the_next_owners_settings(
    db: Session, runtime: Runtime, services: Services
) -> None:
    wipe, _subject = _wipe(db, runtime, services)
    buyer, _token = add_subscriber(db, runtime)
    db.execute(
        sa.text(
            "INSERT INTO device_bindings (id, device_id, subject_id, method, bound_at) "
            "VALUES (:id, :d, :s, 'manual', :at)"
        ),
        {"id": uuid.uuid4(), "d": wipe.device_id, "s": buyer, "at": runtime.clock.now()},
    )

    async def attempt() -> None:
        await pppoe.set_pppoe(
            db,
            services.gate,
            services.keys,
            None,  # type: ignore[arg-type]  # refused before the device is reached
            subject_id=buyer,
            device_id=wipe.device_id,
            username="buyer",
            password="buyers-password",
            interface=1,
            now=runtime.clock.now(),
        )

    import asyncio

    with pytest.raises(DeviceBeingClearedError) as refused:
        asyncio.run(attempt())
    assert refused.value.status == 409 and refused.value.code == "device-being-cleared"


def test_erasure_empties_the_link_and_the_deletion_confirmation_says_where_it_stands(
    db: Session, runtime: Runtime, services: Services
) -> None:
    wipe, subject = _wipe(db, runtime, services)
    ctx = RequestContext.of(services)
    request_id = verified(
        db, ctx, subject, "deletion", ground="NO_LONGER_USED_OR_ACCOUNT_CANCELLED"
    )
    erase_for_request(db, ctx, services.keys, request_id, actor=STAFF)
    db.expire_all()
    kept = db.get(DeviceWipe, wipe.id)
    assert kept is not None and kept.subject_id is None  # the row stays, the link is gone
    assert kept.state is WipeState.PENDING  # the router is still cleared when it comes back
    (template, params) = db.execute(
        sa.text("SELECT template, params FROM outbox WHERE params->>'reference' = :r"),
        {"r": str(request_id)},
    ).one()
    assert template == "request.completed_router"
    assert params == {"reference": str(request_id), "outcome": wipe_words.SUMMARY_PENDING}


def test_the_account_closure_confirmation_says_the_router_was_cleared(
    db: Session, runtime: Runtime, services: Services
) -> None:
    wipe, subject = _wipe(db, runtime, services)
    wipe.state = WipeState.SUCCEEDED
    db.flush()
    deregister(
        db,
        AccountContext.of(services),
        subject,
        reason=DeregistrationReason.SELF_SERVICE,
        actor=STAFF,
    )
    assert _outbox(db, subject) == [
        ("account.deregistered_router", {"outcome": wipe_words.SUMMARY_DONE})
    ]
    # a subscriber who never had a removal gets the plain confirmation
    _device, other, _token = _bound(db, runtime)
    db.execute(sa.text("UPDATE device_bindings SET unbound_at = now(), end_reason = 'unbound' "
                       "WHERE subject_id = :s"), {"s": other})  # fmt: skip
    deregister(
        db,
        AccountContext.of(services),
        other,
        reason=DeregistrationReason.SELF_SERVICE,
        actor=STAFF,
    )
    assert _outbox(db, other) == [("account.deregistered", {})]
