"""Who may run a diagnostic on a device, on what ground; bad input; how long results live.

``start_run`` (decision 0041) on the real schema: a subscriber on their own device; staff
with ``run_diagnostics`` only on an after-sales ticket or with the owner's consent
``device.diagnostics_by_staff``.  Every refusal is a problem with nothing stored or
queued, and is audited; a stored result is deleted by the retention sweep seven days
after the run was asked.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa

from doorstep.audit.entries import audited_transaction, subject_actor
from doorstep.core.clock import FakeClock
from doorstep.core.errors import (
    ConfigurationError,
    DoorstepError,
    InvalidInputError,
    PurposeRefusedError,
)
from doorstep.core.runtime import Runtime
from doorstep.devices.exceptions import DeviceNotFoundError
from doorstep.devices.fleet.diagnostics import Context, Ground, GroundRefusedError, start_run
from doorstep.devices.fleet.diagnostics_models import DiagnosticRun, RunState
from doorstep.devices.fleet.diagnostics_origin import finish_run
from doorstep.devices.fleet.operations import DeviceOperation, OperationKind, OriginKind
from doorstep.privacy.consent.services import grant, withdraw
from doorstep.privacy.datamap.pack_diagnostics import DiagnosticsPolicy
from doorstep.services import services_for
from doorstep.staff.exceptions import StaffPermissionDeniedError
from doorstep.staff.models import StaffRole
from doorstep.staff.services import add_staff
from tests.devices.fleet_rows import add_devices, bind
from tests.packs import reference_terms
from tests.retention.conftest import hours, schema_targets, sweep

T = datetime(2026, 5, 4, 10, tzinfo=UTC)
BY_STAFF = "device.diagnostics_by_staff"


def _context(runtime: Runtime, **changes: Any) -> Context:
    context = Context.of(services_for(runtime))
    if changes:
        return Context(**{**{f: getattr(context, f) for f in context.__slots__}, **changes})
    return context


def _device(
    runtime: Runtime, clock: FakeClock, *, bound: bool = True
) -> tuple[uuid.UUID, uuid.UUID | None]:
    clock.set(T)
    with runtime.sessions.begin() as session:
        (device,) = add_devices(session, 1, now=T)
        owner = bind(session, device, now=T) if bound else None
    return device, owner


def _staff(runtime: Runtime, role: StaffRole = StaffRole.SUPPORT) -> str:
    with runtime.sessions.begin() as session:
        return add_staff(session, role=role, clock=runtime.clock).actor


def _start(runtime: Runtime, device: uuid.UUID, ground: Ground, actor: str, **kw: Any) -> uuid.UUID:
    kind = kw.pop("kind", "ping")
    inputs = kw.pop("inputs", {"host": "example.org"})
    context = kw.pop("context", None) or _context(runtime)
    with audited_transaction(runtime.sessions) as session:
        return start_run(session, device, kind, inputs, ground=ground, actor=actor, context=context)


def _count(runtime: Runtime, table: str) -> int:
    with runtime.sessions() as session:
        return int(session.execute(sa.text(f"SELECT count(*) FROM {table}")).scalar_one())


def _audit(runtime: Runtime, action: str) -> list[dict[str, Any]]:
    query = sa.text(
        "SELECT actor, outcome, details FROM audit_events WHERE action = :a ORDER BY id"
    )
    with runtime.sessions() as session:
        return [dict(row) for row in session.execute(query, {"a": action}).mappings()]


def _refused(
    runtime: Runtime, error: type[DoorstepError], work: Callable[[], object]
) -> DoorstepError:
    """``work`` raises ``error`` and leaves no run and no operation behind."""
    runs, ops = _count(runtime, "diagnostic_runs"), _count(runtime, "device_operations")
    with pytest.raises(error) as raised:
        work()
    assert (_count(runtime, "diagnostic_runs"), _count(runtime, "device_operations")) == (runs, ops)
    return raised.value


def test_the_owner_runs_a_ping_which_queues_one_operation_carrying_no_host(
    runtime: Runtime, clock: FakeClock
) -> None:
    device, owner = _device(runtime, clock)
    assert owner is not None
    run_id = _start(runtime, device, Ground.owner(), subject_actor(owner))
    with runtime.sessions() as session:
        run = session.get(DiagnosticRun, run_id)
        assert run is not None
        assert (run.subject_id, run.asked_by, run.ground.value, run.store) == (
            owner,
            "subscriber",
            "owner",
            True,
        )
        assert run.inputs == {"host": "example.org"} and run.state is RunState.QUEUED
        op = session.get(DeviceOperation, run.operation_id)
        assert op is not None
        assert (op.kind, op.origin_kind, op.origin_id) == (
            OperationKind.DIAGNOSTIC,
            OriginKind.DIAGNOSTIC,
            run_id,
        )
        assert op.args == {"run_id": str(run_id)} and op.purpose == "device.diagnostics"
    (started,) = _audit(runtime, "devices.diagnostic_started")
    assert started["details"]["ground"] == "owner" and "example.org" not in str(started)


def test_another_subscriber_cannot_run_one_on_my_device(runtime: Runtime, clock: FakeClock) -> None:
    device, _owner = _device(runtime, clock)
    stranger = uuid.uuid4()
    _refused(
        runtime,
        DeviceNotFoundError,
        lambda: _start(runtime, device, Ground.owner(), subject_actor(stranger)),
    )


def test_staff_without_a_ticket_or_consent_is_refused_and_audited(
    runtime: Runtime, clock: FakeClock
) -> None:
    device, owner = _device(runtime, clock)
    support = _staff(runtime)
    # no ground of staff's own: the owner's ground is not theirs
    _refused(runtime, GroundRefusedError, lambda: _start(runtime, device, Ground.owner(), support))
    # a ticket reference that is empty, or free text, is no ticket
    for reference in ("", "call from Mrs Smith", "jane@example.org"):
        error = _refused(
            runtime,
            InvalidInputError,
            lambda r=reference: _start(runtime, device, Ground.on_ticket(r), support),  # type: ignore[misc]
        )
        assert error.fields["errors"] == [{"field": "ticket", "rule": "ticket_reference"}]
    # consent: the owner never gave it (the gate refuses, audited with its reason)
    error = _refused(
        runtime, PurposeRefusedError, lambda: _start(runtime, device, Ground.by_consent(), support)
    )
    assert error.fields["reason"] == "no_consent" and error.fields["purpose"] == BY_STAFF
    refusals = _audit(runtime, "devices.diagnostic_refused")
    reasons = [r["details"]["reason"] for r in refusals]
    assert reasons == ["no_ticket_or_consent"] + ["ticket_reference"] * 3
    assert all(r["actor"] == support and r["outcome"] == "refused" for r in refusals)
    with runtime.sessions() as session:
        gate = session.execute(
            sa.text(
                "SELECT count(*) FROM audit_events WHERE outcome = 'refused' "
                "AND purpose = :p AND subject_id = :s AND details->>'reason' = 'no_consent'"
            ),
            {"p": BY_STAFF, "s": owner},
        ).scalar_one()
    assert gate == 1


def test_a_role_without_run_diagnostics_is_refused_even_on_a_ticket(
    runtime: Runtime, clock: FakeClock
) -> None:
    device, _owner = _device(runtime, clock)
    for role in (StaffRole.ADMIN, StaffRole.PRIVACY_OFFICER):
        actor = _staff(runtime, role)
        error = _refused(
            runtime,
            StaffPermissionDeniedError,
            lambda a=actor: _start(runtime, device, Ground.on_ticket("AS-2026-0042"), a),  # type: ignore[misc]
        )
        assert error.fields["reason"] == "role_not_permitted"
    assert len(_audit(runtime, "staff.run_diagnostics")) == 2


def test_staff_runs_one_on_a_ticket_and_the_reference_is_recorded(
    runtime: Runtime, clock: FakeClock
) -> None:
    device, owner = _device(runtime, clock)
    support = _staff(runtime)
    run_id = _start(
        runtime, device, Ground.on_ticket("AS-2026-0042"), support, kind="download", inputs={}
    )
    with runtime.sessions() as session:
        run = session.get(DiagnosticRun, run_id)
        assert run is not None
        assert (run.subject_id, run.asked_by, run.ground.value, run.ground_ref) == (
            owner,
            support,
            "ticket",
            "AS-2026-0042",
        )
        assert run.purpose == "device.diagnostics" and run.inputs == {}
    (started,) = _audit(runtime, "devices.diagnostic_started")
    assert started["actor"] == support and started["details"]["ticket"] == "AS-2026-0042"


def test_staff_runs_one_with_the_owners_consent_until_it_is_withdrawn(
    runtime: Runtime, clock: FakeClock
) -> None:
    device, owner = _device(runtime, clock)
    assert owner is not None
    support = _staff(runtime)
    terms = reference_terms()
    with runtime.sessions.begin() as session:
        given = grant(
            session, subject_id=owner, purpose=BY_STAFF, channel="web",
            notice_text="Let support test my router.", clock=clock, terms=terms,
        )  # fmt: skip
    run_id = _start(runtime, device, Ground.by_consent(), support)
    with runtime.sessions() as session:
        run = session.get(DiagnosticRun, run_id)
        assert run is not None
        assert (run.ground.value, run.ground_ref, run.purpose) == (
            "consent",
            str(given.id),
            BY_STAFF,
        )
    (started,) = _audit(runtime, "devices.diagnostic_started")
    assert started["details"]["consent_event"] == str(given.id)
    with runtime.sessions.begin() as session:
        withdraw(
            session, subject_id=owner, purpose=BY_STAFF, channel="web", clock=clock, terms=terms
        )
    error = _refused(
        runtime, PurposeRefusedError, lambda: _start(runtime, device, Ground.by_consent(), support)
    )
    assert error.fields["reason"] == "consent_withdrawn"
    # a device bound to nobody has nobody to consent
    unbound, _ = _device(runtime, clock, bound=False)
    _refused(
        runtime, GroundRefusedError, lambda: _start(runtime, unbound, Ground.by_consent(), support)
    )


@pytest.mark.parametrize(
    ("kind", "inputs", "field"),
    [
        ("whois", {"host": "example.org"}, "kind"),
        ("ping", {"host": "example .org"}, "host"),
        ("ping", {"host": "x; reboot"}, "host"),
        ("ping", {}, "host"),
        ("traceroute", {"host": "a" * 254}, "host"),
        ("download", {"host": "example.org"}, "host"),
        ("ping", {"host": "example.org", "count": "9"}, "count"),
    ],
)
def test_bad_input_is_refused_and_nothing_is_stored(
    runtime: Runtime, clock: FakeClock, kind: str, inputs: dict[str, str], field: str
) -> None:
    device, owner = _device(runtime, clock)
    assert owner is not None
    error = _refused(
        runtime,
        InvalidInputError,
        lambda: _start(
            runtime, device, Ground.owner(), subject_actor(owner), kind=kind, inputs=inputs
        ),
    )
    assert error.fields["errors"][0]["field"] == field


def test_a_pack_keeping_results_under_another_rule_is_refused(
    runtime: Runtime, clock: FakeClock
) -> None:
    device, owner = _device(runtime, clock)
    assert owner is not None
    policy = DiagnosticsPolicy({"ping": "device_operation"})
    context = _context(runtime, policy=policy)
    _refused(
        runtime,
        ConfigurationError,
        lambda: _start(runtime, device, Ground.owner(), subject_actor(owner), context=context),
    )


def test_results_are_deleted_seven_days_after_the_run_was_asked(
    runtime: Runtime, clock: FakeClock
) -> None:
    device, owner = _device(runtime, clock)
    assert owner is not None
    old = _start(runtime, device, Ground.owner(), subject_actor(owner))
    with runtime.sessions.begin() as session:
        finish_run(session, old, RunState.SUCCEEDED, now=T, result={"status": "Complete"})
    clock.set(T + timedelta(days=1))
    young = _start(runtime, device, Ground.owner(), subject_actor(owner))
    chosen = schema_targets(runtime, "diagnostic_result")
    assert [target.table.name for target in chosen] == ["diagnostic_runs"]

    def left() -> set[uuid.UUID]:
        with runtime.sessions() as session:
            return set(session.scalars(sa.select(DiagnosticRun.id)))

    clock.set(T + timedelta(days=7) - hours(1))
    sweep(runtime, chosen)
    assert left() == {old, young}
    clock.set(T + timedelta(days=7) + hours(1))
    sweep(runtime, chosen)
    assert left() == {young}
