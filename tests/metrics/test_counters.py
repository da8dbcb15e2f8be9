"""Counters from code: gate refusals, retention sweeps, USP round trips, jobs."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from prometheus_client import REGISTRY
from sqlalchemy.orm import Session

from doorstep.core.clock import FakeClock
from doorstep.core.errors import PermissionDeniedError, PurposeRefusedError
from doorstep.core.metrics import UNDECLARED
from doorstep.core.runtime import Runtime
from doorstep.jobs.registry import TaskSpec
from doorstep.jobs.worker import _adapt
from doorstep.privacy.restrictions import RestrictionReason, restrict
from doorstep.privacy.subjects.models import Subject, SubjectKind
from doorstep.usp.controller import Controller, DeviceTimeoutError
from doorstep.usp.runner import run_mqtt_controller
from tests.packs import reference_gate, reference_pack
from tests.retention.conftest import add_device, device_schema, scratch_targets, sweep
from tests.usp_net.conftest import broker, net_config, run, spawn_broker  # noqa: F401
from tests.usp_net.helpers import agents_for, fleet, mqtt_options, store_for, until

ACTOR = "system:tests"


def _sample(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def _subject(db: Session) -> uuid.UUID:
    subject = Subject(kind=SubjectKind.SUBSCRIBER)
    db.add(subject)
    db.flush()
    return subject.id


def test_a_purpose_refusal_increments_its_counter(db: Session, clock: FakeClock) -> None:
    subject = _subject(db)
    element, purpose = "subjects.created_at", "account.management"
    labels = {"purpose": purpose, "element": element, "reason": "restricted"}
    before = _sample("doorstep_purpose_refusals_total", **labels)
    reference_gate().for_subject(db, subject, actor=ACTOR).check(element, purpose)
    assert _sample("doorstep_purpose_refusals_total", **labels) == before  # allowed: not counted
    restrict(
        db,
        subject_id=subject,
        purpose=purpose,
        reason=RestrictionReason.ACCURACY_CONTESTED,
        clock=clock,
        actor=ACTOR,
        pack=reference_pack(),
    )
    access = reference_gate().for_subject(db, subject, actor=ACTOR)
    with pytest.raises(PurposeRefusedError) as refused:
        access.check(element, purpose)
    assert refused.value.fields["reason"] == "restricted"
    assert _sample("doorstep_purpose_refusals_total", **labels) == before + 1


def test_names_the_pack_does_not_declare_are_counted_as_undeclared(db: Session) -> None:
    access = reference_gate().for_subject(db, _subject(db), actor=ACTOR)
    made_up = f"made.up.{uuid.uuid4().hex}"  # a name per call would grow the series forever
    labels = {"purpose": UNDECLARED, "element": "accounts.email", "reason": "unknown_purpose"}
    before = _sample("doorstep_purpose_refusals_total", **labels)
    with pytest.raises(PurposeRefusedError):
        access.check("accounts.email", made_up)
    assert _sample("doorstep_purpose_refusals_total", **labels) == before + 1
    assert all(
        made_up not in sample.labels.values()
        for family in REGISTRY.collect()
        for sample in family.samples
    )


def test_retention_counts_the_rows_it_swept(
    db: Session, runtime: Runtime, clock: FakeClock
) -> None:
    scratch = device_schema()
    scratch.create_all(db.connection())
    last_seen = datetime(2024, 1, 1, tzinfo=UTC)
    for device_id in (1, 2, 3):
        add_device(db, scratch, device_id, last_seen=last_seen)
    add_device(db, scratch, 4, last_seen=None)  # online: never due
    db.commit()
    labels = {"rule": "device_registration", "action": "anonymise"}
    before = _sample("doorstep_retention_rows_swept_total", **labels)
    clock.set(last_seen + timedelta(days=731))
    sweep(runtime, scratch_targets(scratch, runtime, "device_registration"), batch_size=2)
    assert _sample("doorstep_retention_rows_swept_total", **labels) == before + 3


def test_a_job_run_is_counted_by_task_and_outcome(runtime: Runtime) -> None:
    class Job:
        id = 1
        attempts = 0

    class Context:
        job = Job()

    def works(_ctx: object) -> int:
        return 1

    def breaks(_ctx: object) -> None:
        raise RuntimeError("boom")

    ok = {"task": "tests.metrics.works", "outcome": "succeeded"}
    bad = {"task": "tests.metrics.breaks", "outcome": "failed"}
    before_ok, before_bad = (
        _sample("doorstep_jobs_finished_total", **ok),
        _sample("doorstep_jobs_finished_total", **bad),
    )
    assert _adapt(TaskSpec("tests.metrics.works", works), runtime)(Context()) == 1
    with pytest.raises(RuntimeError):
        _adapt(TaskSpec("tests.metrics.breaks", breaks), runtime)(Context())
    assert _sample("doorstep_jobs_finished_total", **ok) == before_ok + 1
    assert _sample("doorstep_jobs_finished_total", **bad) == before_bad + 1


def test_usp_round_trips_timeouts_and_connected_agents(broker: int, runtime: Runtime) -> None:  # noqa: F811
    config = net_config(broker)
    agent, silent = agents_for(config, 2)
    rtt = "doorstep_usp_request_duration_seconds_count"
    rtt_before = _sample(rtt, msg_type="GET")
    timeouts_before = _sample("doorstep_usp_request_timeouts_total", msg_type="GET")
    connected_before = _sample("doorstep_usp_agents_connected")

    async def scenario() -> None:
        stop = asyncio.Event()
        ready: list[Controller] = []
        task = asyncio.create_task(
            run_mqtt_controller(
                runtime,
                config,
                credentials=store_for([agent, silent]),
                stop=stop,
                started=lambda controller, _transport: ready.append(controller),
            )
        )
        try:
            await until(lambda: ready)
            async with fleet([agent], mqtt_options(config, broker)):
                await until(lambda: _sample("doorstep_usp_agents_connected") > connected_before)
                await ready[0].get(agent.endpoint_id, "Device.DeviceInfo.")
                with pytest.raises(DeviceTimeoutError):
                    await ready[0].get(silent.endpoint_id, "Device.", timeout=0.2)
        finally:
            stop.set()
            await asyncio.wait_for(task, 15)

    run(scenario())
    assert _sample(rtt, msg_type="GET") == rtt_before + 1
    assert _sample("doorstep_usp_request_timeouts_total", msg_type="GET") == timeouts_before + 1


def test_a_sharing_refusal_is_counted_by_recipient_and_reason(
    db: Session, runtime: Runtime
) -> None:
    from doorstep.privacy.sharing.gate import SharingGate
    from doorstep.schema import metadata

    gate = SharingGate.from_pack(reference_pack(), metadata)
    stranger = f"stranger-{uuid.uuid4().hex[:8]}"
    labels = {"recipient": UNDECLARED, "reason": "unknown_recipient"}
    before = _sample("doorstep_sharing_refusals_total", **labels)
    with pytest.raises(PermissionDeniedError):
        gate.release(
            db,
            subject_id=_subject(db),
            recipient=stranger,
            purpose="customer.support",
            payload={"accounts.email": "x@example.org"},
            clock=runtime.clock,
            actor=ACTOR,
        )
    assert _sample("doorstep_sharing_refusals_total", **labels) == before + 1
