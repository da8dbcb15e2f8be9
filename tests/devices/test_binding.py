"""Binding by claim secret: first binder owns, QR needs camera consent, lockout, ledger."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
import sqlalchemy as sa
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from doorstep.audit.services import flush_events
from doorstep.core.clock import FakeClock
from doorstep.core.errors import InvalidInputError, PurposeRefusedError
from doorstep.core.runtime import Runtime
from doorstep.devices import binding
from doorstep.devices._limits import Limits
from doorstep.devices.binding import Claim
from doorstep.devices.exceptions import (
    ClaimLockedError,
    ClaimRejectedError,
    DeviceAlreadyBoundError,
    DeviceNotFoundError,
)
from doorstep.devices.inventory import installation_key
from doorstep.privacy.consent.services import refuse
from doorstep.usp import claims
from doorstep.usp.agent_sim import SimAgent, make_agents
from doorstep.usp.config import UspConfig
from doorstep.wiring import build_services
from tests.devices.conftest import NOTICE, add_subscriber, consent, device_id_of, provision
from tests.packs import reference_gate, reference_terms

LIMITS = Limits(subscriber_max=5, device_max=8, window=timedelta(minutes=15))


def _devices(db: Session, runtime: Runtime, count: int = 1) -> list[SimAgent]:
    agents = make_agents(count, controller_id=UspConfig().controller_id)
    provision(db, runtime, agents)
    return agents


def _bind(db: Session, runtime: Runtime, subject: uuid.UUID, claim: Claim) -> binding.Bound:
    return binding.bind(
        db,
        reference_gate(),
        LIMITS,
        key=installation_key(runtime.settings),
        subject_id=subject,
        claim=claim,
        now=runtime.clock.now(),
    )


def _actions(db: Session, subject: uuid.UUID) -> list[str]:
    flush_events(db)
    query = "SELECT action FROM audit_events WHERE subject_id = :s ORDER BY id"
    return list(db.execute(sa.text(query), {"s": subject}).scalars())


def _wrong_code(agent: SimAgent) -> str:
    code = claims.new_claim_code()
    return code if code != agent.claim_code else claims.new_claim_code()


@pytest.mark.clause("CPE-I.ii.2.b")
def test_the_first_account_to_bind_owns_the_device(db: Session, runtime: Runtime) -> None:
    (agent,) = _devices(db, runtime)
    alice, _ = add_subscriber(db, runtime)
    bob, _ = add_subscriber(db, runtime)
    first = _bind(db, runtime, alice, Claim(claim_code=claims.display_claim_code(agent.claim_code)))
    assert first.created and first.method.value == "manual"
    with pytest.raises(DeviceAlreadyBoundError):
        _bind(db, runtime, bob, Claim(claim_code=agent.claim_code))
    again = _bind(db, runtime, alice, Claim(claim_code=agent.claim_code.lower()))
    assert not again.created and again.binding_id == first.binding_id
    assert binding.bound_device_ids(db, alice) == [str(first.device_id)]
    assert binding.bound_device_ids(db, bob) == []
    assert build_services(runtime).bound_devices is binding.bound_device_ids


@pytest.mark.clause("CPE-I.ii.2.b")
def test_the_ledger_keeps_bind_and_unbind_times_and_refuses_edits(
    db: Session, runtime: Runtime, clock: FakeClock
) -> None:
    (agent,) = _devices(db, runtime)
    owner, _ = add_subscriber(db, runtime)
    bound = _bind(db, runtime, owner, Claim(claim_code=agent.claim_code))
    bound_at = clock.now()
    clock.advance(timedelta(days=3))
    binding.unbind(
        db, reference_gate(), subject_id=owner, device_id=bound.device_id, now=clock.now()
    )
    row = db.execute(
        sa.text("SELECT bound_at, unbound_at, end_reason FROM device_bindings WHERE id = :id"),
        {"id": bound.binding_id},
    ).one()
    assert (row.bound_at, row.unbound_at, row.end_reason) == (bound_at, clock.now(), "unbound")
    assert _actions(db, owner).count("devices.unbound") == 1
    assert binding.bound_device_ids(db, owner) == []
    with pytest.raises(DeviceNotFoundError):
        binding.unbind(
            db, reference_gate(), subject_id=owner, device_id=bound.device_id, now=clock.now()
        )
    for statement in (
        "UPDATE device_bindings SET bound_at = bound_at - interval '1 day' WHERE id = :id",
        "UPDATE device_bindings SET unbound_at = NULL, end_reason = NULL WHERE id = :id",
        "DELETE FROM device_bindings WHERE id = :id",
    ):
        with pytest.raises(DBAPIError), db.begin_nested():
            db.execute(sa.text(statement), {"id": bound.binding_id})
    # bound again later: a new ledger row, the old one untouched
    rebound = _bind(db, runtime, owner, Claim(claim_code=agent.claim_code))
    assert rebound.created and rebound.binding_id != bound.binding_id


@pytest.mark.clause("CPE-I.ii.2.c")
@pytest.mark.clause("CPE-V.4.a")
@pytest.mark.clause("CPE-V.4.b")
def test_the_qr_needs_camera_consent_and_the_typed_code_never_does(
    db: Session, runtime: Runtime, clock: FakeClock
) -> None:
    first, second = _devices(db, runtime, 2)
    subject, _ = add_subscriber(db, runtime)
    refuse(
        db,
        subject_id=subject,
        purpose="device.qr_camera",
        channel="app",
        notice_text=NOTICE,
        clock=clock,
        terms=reference_terms(),
    )
    with pytest.raises(PurposeRefusedError) as refused, db.begin_nested():
        _bind(db, runtime, subject, Claim(qr_payload=first.claim_payload()))
    assert refused.value.fields["reason"] == "consent_refused"
    typed = _bind(
        db, runtime, subject, Claim(claim_code=claims.display_claim_code(first.claim_code))
    )
    assert typed.method.value == "manual"
    consent(db, runtime, subject, "device.qr_camera")
    scanned = _bind(db, runtime, subject, Claim(qr_payload=second.claim_payload()))
    assert scanned.method.value == "qr" and scanned.device_id == device_id_of(db, runtime, second)
    assert "devices.qr_scanned" in _actions(db, subject)


@pytest.mark.clause("CPE-I.ii.2.b")
def test_guessing_claim_codes_locks_the_subscriber_out(
    db: Session, runtime: Runtime, clock: FakeClock
) -> None:
    (agent,) = _devices(db, runtime)
    guesser, _ = add_subscriber(db, runtime)
    with pytest.raises(InvalidInputError):  # not a code at all: refused, not counted
        _bind(db, runtime, guesser, Claim(claim_code="hello"))
    for left in range(LIMITS.subscriber_max - 1, -1, -1):
        with pytest.raises(ClaimRejectedError) as wrong:
            _bind(db, runtime, guesser, Claim(claim_code=_wrong_code(agent)))
        assert wrong.value.fields["attempts_left"] == left
    with pytest.raises(ClaimLockedError) as locked:  # even the right code, while locked
        _bind(db, runtime, guesser, Claim(claim_code=agent.claim_code))
    assert 0 < locked.value.fields["retry_after"] <= LIMITS.window.total_seconds()
    clock.advance(LIMITS.window - timedelta(seconds=1))
    with pytest.raises(ClaimLockedError):
        _bind(db, runtime, guesser, Claim(claim_code=agent.claim_code))
    clock.advance(timedelta(seconds=2))
    assert _bind(db, runtime, guesser, Claim(claim_code=agent.claim_code)).created
    assert _actions(db, guesser).count("devices.claim_failed") == LIMITS.subscriber_max


def _strangers_guess(db: Session, runtime: Runtime, target: SimAgent, count: int) -> None:
    """``count`` fresh accounts each scan a forged payload naming ``target`` once."""
    for _ in range(count):
        guesser, _token = add_subscriber(db, runtime)
        consent(db, runtime, guesser, "device.qr_camera")
        forged = claims.encode_payload(target.endpoint_id, _wrong_code(target))
        with pytest.raises(ClaimRejectedError):
            _bind(db, runtime, guesser, Claim(qr_payload=forged))


def _device_failures(db: Session, runtime: Runtime, agent: SimAgent) -> int:
    query = "SELECT claim_failures FROM devices WHERE id = :id"
    return int(db.execute(sa.text(query), {"id": device_id_of(db, runtime, agent)}).scalar_one())


@pytest.mark.clause("CPE-I.ii.2.b")
def test_strangers_guessing_a_devices_code_do_not_block_its_owner(
    db: Session, runtime: Runtime
) -> None:
    typed, scanned = _devices(db, runtime, 2)
    for target in (typed, scanned):  # each device's lock is reached, from many accounts
        _strangers_guess(db, runtime, target, LIMITS.device_max)
    owner, _ = add_subscriber(db, runtime)
    assert _bind(db, runtime, owner, Claim(claim_code=typed.claim_code)).created
    consent(db, runtime, owner, "device.qr_camera")
    assert _bind(db, runtime, owner, Claim(qr_payload=scanned.claim_payload())).created
    assert _device_failures(db, runtime, typed) == 0  # a success clears the count


@pytest.mark.clause("CPE-I.ii.2.b")
def test_a_locked_device_refuses_claimants_who_already_guessed_wrong(
    db: Session, runtime: Runtime
) -> None:
    target, other = _devices(db, runtime, 2)
    guesser, _ = add_subscriber(db, runtime)
    consent(db, runtime, guesser, "device.qr_camera")
    with pytest.raises(ClaimRejectedError):  # one wrong guess of its own
        wrong = claims.encode_payload(other.endpoint_id, _wrong_code(other))
        _bind(db, runtime, guesser, Claim(qr_payload=wrong))
    _strangers_guess(db, runtime, target, LIMITS.device_max)
    with pytest.raises(ClaimLockedError) as locked:  # even the right payload
        _bind(db, runtime, guesser, Claim(qr_payload=target.claim_payload()))
    assert 0 < locked.value.fields["retry_after"] <= LIMITS.window.total_seconds()
    # Guessing stays bounded: each further account gets one judged guess, then is refused.
    _strangers_guess(db, runtime, target, 3)
    assert _device_failures(db, runtime, target) == LIMITS.device_max + 3
    late, _ = add_subscriber(db, runtime)
    consent(db, runtime, late, "device.qr_camera")
    forged = claims.encode_payload(target.endpoint_id, _wrong_code(target))
    with pytest.raises(ClaimRejectedError):
        _bind(db, runtime, late, Claim(qr_payload=forged))
    with pytest.raises(ClaimLockedError):
        _bind(db, runtime, late, Claim(qr_payload=forged))
    assert _device_failures(db, runtime, target) == LIMITS.device_max + 4


@pytest.mark.clause("CPE-I.ii.2.c")
def test_a_payload_for_one_device_does_not_open_another(db: Session, runtime: Runtime) -> None:
    first, second = _devices(db, runtime, 2)
    subject, _ = add_subscriber(db, runtime)
    consent(db, runtime, subject, "device.qr_camera")
    mixed = claims.encode_payload(first.endpoint_id, second.claim_code)
    with pytest.raises(ClaimRejectedError):
        _bind(db, runtime, subject, Claim(qr_payload=mixed))
    with pytest.raises(InvalidInputError):
        _bind(db, runtime, subject, Claim())


def test_claim_secrets_are_random_not_derived_from_the_device() -> None:
    agents = make_agents(50, controller_id=UspConfig().controller_id, batch="ABCDEF")
    codes = {agent.claim_code for agent in agents}
    assert len(codes) == 50
    for agent in agents:
        profile = agent.profile
        revealed = (profile.serial_number, profile.wan_mac, profile.endpoint_id, profile.oui)
        assert not any(part.upper() in agent.claim_code for part in revealed)
        assert len(agent.claim_code) == claims.CLAIM_LENGTH


@given(st.text(alphabet=claims.ALPHABET, min_size=20, max_size=20))
def test_payloads_and_codes_round_trip(code: str) -> None:
    payload = claims.encode_payload("os::02D00C-ABC0000001", code)
    assert claims.parse_payload(payload) == claims.ClaimPayload("os::02D00C-ABC0000001", code)
    shown = claims.display_claim_code(code)
    assert claims.normalise_claim_code(shown.lower().replace("-", " ")) == code
    assert claims.claim_digest(shown) == claims.claim_digest(code)


@given(st.text(max_size=300))
def test_parsing_any_text_never_crashes_or_echoes_it(text: str) -> None:
    with pytest.raises(InvalidInputError) as reference:
        claims.parse_payload("")
    try:
        claims.parse_payload(text)
    except InvalidInputError as exc:  # always the same words, whatever was sent
        assert (exc.detail, exc.fields) == (reference.value.detail, reference.value.fields)


@pytest.mark.clause("CPE-I.iii.0")
def test_functions_follow_the_product_type(monkeypatch: pytest.MonkeyPatch) -> None:
    from doorstep.devices import access
    from doorstep.devices.exceptions import ProductFunctionError
    from doorstep.devices.models import ProductType

    def device(product: ProductType | None) -> access.OwnedDevice:
        return access.OwnedDevice(uuid.uuid4(), uuid.uuid4(), uuid.uuid4(), None, product, True)

    for product in (ProductType.ROUTER, ProductType.GATEWAY, None):  # the reference policy
        for function in ("pppoe", "wifi", "wifi_scan", "status", "reboot"):
            access.require_function(device(product), function)
    narrowed = {**access.PRODUCT_FUNCTIONS, ProductType.ROUTER: frozenset({"wifi", "status"})}
    monkeypatch.setattr(access, "PRODUCT_FUNCTIONS", narrowed)  # a pack where they differ
    with pytest.raises(ProductFunctionError) as refused:
        access.require_function(device(ProductType.ROUTER), "pppoe")
    assert refused.value.code == "field-not-allowed-for-product-type"
    access.require_function(device(ProductType.GATEWAY), "pppoe")


@pytest.mark.clause("CPE-I.ii.1.b")
def test_registration_data_is_read_only_for_its_purposes(db: Session, runtime: Runtime) -> None:
    subject, _ = add_subscriber(db, runtime)
    access = reference_gate().for_subject(db, subject, actor="system:analytics")
    for purpose in ("device.registration", "device.product_functions", "customer.support"):
        for field in ("serial_number", "mac_address", "ip_address"):
            access.check(f"device_registrations.{field}", purpose)
    with pytest.raises(PurposeRefusedError) as refused:
        access.check("device_registrations.serial_number", "notification.delivery")
    assert refused.value.fields["reason"] == "purpose_not_declared"
    with pytest.raises(PurposeRefusedError):
        access.check("device_registrations.mac_address", "analytics")
    flush_events(db)
    refusals = db.execute(
        sa.text(
            "SELECT count(*) FROM audit_events WHERE subject_id = :s AND outcome = 'refused' "
            "AND element LIKE 'device_registrations.%'"
        ),
        {"s": subject},
    ).scalar_one()
    assert refusals == 2
