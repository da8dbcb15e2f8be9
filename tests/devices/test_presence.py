"""Online and offline with the fake clock, and what two years offline do to a device."""

from __future__ import annotations

import asyncio
import dataclasses
import uuid
from datetime import timedelta

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from doorstep.core.clock import FakeClock
from doorstep.core.runtime import Runtime
from doorstep.devices import binding
from doorstep.devices.binding import Claim
from doorstep.devices.hooks import DeviceHooks
from doorstep.devices.inventory import installation_key
from doorstep.devices.models import ProductType
from doorstep.devices.registry import Registration, record_contact, store_registration
from doorstep.devices.tasks import presence_sweep
from doorstep.keys.keyring import load_keyring
from doorstep.keys.services import KeyService
from doorstep.privacy.retention.tasks import sweep_all
from doorstep.usp.agent_sim import SimAgent, make_agents
from doorstep.usp.config import UspConfig
from doorstep.usp.controller import WEBSOCKET, AgentAddress
from tests.devices.conftest import add_subscriber, device_id_of, provision
from tests.devices.test_binding import LIMITS
from tests.packs import reference_gate

HOUR = timedelta(hours=1)
TWO_YEARS = timedelta(days=730)


def _with(runtime: Runtime, **settings: object) -> Runtime:
    return dataclasses.replace(runtime, settings=runtime.settings.model_copy(update=settings))


def _state(db: Session, device: uuid.UUID) -> sa.Row[tuple[object, ...]]:
    return db.execute(
        sa.text(
            "SELECT online, last_seen, offline_since, anonymised_at, endpoint_id, serial_number "
            "FROM device_registrations WHERE device_id = :id"
        ),
        {"id": device},
    ).one()


def _registered(db: Session, runtime: Runtime, agent: SimAgent) -> uuid.UUID:
    device = device_id_of(db, runtime, agent)
    now = runtime.clock.now()
    address = AgentAddress(WEBSOCKET)
    record_contact(db, device, endpoint_id=agent.endpoint_id, address=address, now=now)
    profile = agent.profile
    registration = Registration(
        profile.model_name,
        profile.software_version,
        profile.serial_number,
        profile.wan_mac,
        "Up",
        profile.wan_ip,
        ProductType.ROUTER,
    )
    store_registration(
        db, reference_gate(), device, registration, endpoint_id=agent.endpoint_id, now=now
    )
    return device


@pytest.mark.clause("CPE-I.ii.1.c")
def test_silence_marks_a_device_offline_from_its_last_contact(
    db: Session, runtime: Runtime, clock: FakeClock
) -> None:
    runtime = _with(runtime, device_silence_timeout_seconds=4 * 3600)
    timeout = timedelta(hours=4)
    agents = make_agents(2, controller_id=UspConfig().controller_id)
    provision(db, runtime, agents)
    quiet, chatty = (_registered(db, runtime, agent) for agent in agents)
    last_contact = clock.now()
    clock.advance(timeout - HOUR)
    record_contact(db, chatty, endpoint_id=agents[1].endpoint_id, address=None, now=clock.now())
    assert presence_sweep(runtime).went_offline == 0
    assert _state(db, quiet).online
    clock.advance(2 * HOUR)  # one hour past the quiet device's timeout
    assert presence_sweep(runtime).went_offline == 1
    state = _state(db, quiet)
    assert not state.online and state.offline_since == last_contact
    assert _state(db, chatty).online and _state(db, chatty).offline_since is None
    assert presence_sweep(runtime).went_offline == 0  # idempotent
    # traffic brings it back: online, the two years start again from the next silence
    hooks = DeviceHooks(runtime, reference_gate())
    asyncio.run(hooks.on_agent_traffic(agents[0].endpoint_id))
    state = _state(db, quiet)
    assert state.online and state.offline_since is None and state.last_seen == clock.now()


@pytest.mark.clause("CPE-I.ii.1.c")
@pytest.mark.clause("CPE-I.iii.R2")
def test_two_years_offline_anonymise_the_record_and_end_the_binding(
    db: Session, runtime: Runtime, clock: FakeClock
) -> None:
    gone, returning = make_agents(2, controller_id=UspConfig().controller_id)
    provision(db, runtime, [gone, returning])
    owner, _ = add_subscriber(db, runtime)
    device = _registered(db, runtime, gone)
    other = _registered(db, runtime, returning)
    bound = binding.bind(
        db,
        reference_gate(),
        LIMITS,
        key=installation_key(runtime.settings),
        subject_id=owner,
        claim=Claim(claim_code=gone.claim_code),
        now=clock.now(),
    )
    keys = KeyService(load_keyring(runtime.settings, clock=clock), clock)
    db.execute(
        sa.text(
            "INSERT INTO device_pppoe (binding_id, interface, username, password, set_at) "
            "VALUES (:b, 1, :u, :p, :t)"
        ),
        {
            "b": bound.binding_id,
            "u": keys.encrypt(db, owner, "user", context="device_pppoe.username"),
            "p": keys.encrypt(db, owner, "secret", context="device_pppoe.password"),
            "t": clock.now(),
        },
    )
    offline_at = clock.now()
    for device_id in (device, other):
        db.execute(
            sa.text(
                "UPDATE device_registrations SET online = false, offline_since = :t "
                "WHERE device_id = :id"
            ),
            {"t": offline_at, "id": device_id},
        )
    db.commit()
    clock.advance(timedelta(days=365))  # the second device comes back after a year
    record_contact(db, other, endpoint_id=returning.endpoint_id, address=None, now=clock.now())
    db.commit()
    clock.set(offline_at + TWO_YEARS - HOUR)
    sweep_all(runtime, rule="device_registration")
    presence_sweep(runtime)
    assert _state(db, device).anonymised_at is None
    assert binding.bound_device_ids(db, owner) == [str(device)]
    clock.set(offline_at + TWO_YEARS + HOUR)
    sweep_all(runtime, rule="device_registration")
    assert presence_sweep(runtime).bindings_ended == 1
    state = _state(db, device)
    assert state.anonymised_at is not None
    assert (state.endpoint_id, state.serial_number) == (None, None)
    assert binding.bound_device_ids(db, owner) == []
    assert db.execute(sa.text("SELECT count(*) FROM device_pppoe")).scalar_one() == 0
    reason = db.execute(
        sa.text("SELECT end_reason FROM device_bindings WHERE id = :id"), {"id": bound.binding_id}
    ).scalar_one()
    assert reason == "anonymised"
    assert _state(db, other).anonymised_at is None  # back online after a year: untouched
    # the anonymised device comes back: found by its keyed hash, registered afresh
    clock.advance(HOUR)
    hooks = DeviceHooks(runtime, reference_gate())
    asyncio.run(hooks.on_agent_traffic(gone.endpoint_id))
    state = _state(db, device)
    assert state.online and state.anonymised_at is None and state.endpoint_id == gone.endpoint_id
