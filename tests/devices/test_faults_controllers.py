"""One of two controller processes on a shared subscription is killed under load.

Two real ``doorstep controller`` processes join one shared subscription on a Mosquitto of
the test's own; forty strict simulated agents connect and are registered and set up as in
production (subscriptions, Periodic!, last will).  The load is what controller processes
carry: a stream of fleet operations (one Set each, decision 0038) that both executors
claim, and the agents' own traffic.  One process is killed (SIGKILL) in the middle.  Then:

* the other takes over every device within the silence timeout: each one's traffic
  reaches it and its contact is stored (``last_seen`` after the kill), and the presence
  sweep, run all along as the worker runs it, never marks one offline;
* operations keep succeeding: the longest gap between two successes after the kill is
  well under the silence timeout, and every operation ends succeeded, those the killed
  process held included (its lease lapses, the sweep hands them back, the survivor ends
  them, reading back what was sent rather than sending it again);
* no device applied any Set twice.

The silence timeout is the smallest allowed (60 s), Periodic! half of it (30 s), and the
controllers store a contact at most every 5 s (``traffic_hook_interval``; by default a
thirtieth of the default silence timeout, as here a twelfth).  The figures are printed
for docs/benchmarks.md (run with ``-s``).
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import itertools
import signal
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from doorstep.core.runtime import Runtime
from doorstep.devices.fleet.operations import OperationKind, OriginKind, queue_operations
from doorstep.devices.presence import mark_silent
from tests.devices.faults import seen_since, wait_for
from tests.devices.rollout_net import Rig, controller_env, controller_process, rig, stop
from tests.usp_net.conftest import needs_mosquitto, run

COUNT = 40
SILENCE = 60
"""``device_silence_timeout_seconds``, the smallest allowed."""
PERIODIC = 30
"""``device_periodic_seconds``: Periodic! every half silence timeout."""
TRAFFIC_HOOK = 5
NTP = "Device.Time.NTPServer1"
EVERY = 0.2
"""Seconds between two operations queued."""
ANSWER = 1.0
"""Seconds a device takes to answer a Set it applied: operations are in flight at the kill."""


def _queue(made: Rig, device_id: uuid.UUID, n: int) -> None:
    with made.runtime.sessions.begin() as session:
        queue_operations(
            session,
            [device_id],
            OperationKind.SET_PARAMETERS,
            {"parameters": {NTP: f"ntp{n}.example.net"}},
            purpose="device.maintenance",
            actor="system:tests",
            origin_kind=OriginKind.SINGLE,
            origin_id=uuid.uuid4(),
            deadline_seconds=300,
            clock=made.clock,
        )


async def _load(made: Rig, done: asyncio.Event) -> None:
    """One operation every :data:`EVERY` seconds, round-robin over the devices."""
    n = 0
    while not done.is_set():
        await asyncio.to_thread(_queue, made, made.device_ids[n % len(made.device_ids)], n)
        n += 1
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(done.wait(), EVERY)


async def _presence(made: Rig, done: asyncio.Event, marked: list[int]) -> None:
    """The worker's presence sweep, every second instead of every minute."""

    def sweep() -> int:
        with made.runtime.sessions.begin() as session:
            return mark_silent(session, now=made.clock.now(), timeout=timedelta(seconds=SILENCE))

    while not done.is_set():
        marked.append(await asyncio.to_thread(sweep))
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(done.wait(), 1.0)


def _operations(made: Rig) -> list[tuple[str, str | None, datetime | None]]:
    """(state, reason, finished_at) of every operation."""
    with made.runtime.engine.connect() as connection:
        rows = connection.execute(
            sa.text("SELECT state::text, reason, finished_at FROM device_operations")
        )
        return [(row[0], row[1], row[2]) for row in rows]


def _open(made: Rig) -> dict[uuid.UUID, str | None]:
    """Operation -> the executor holding it, of those whose Set was sent and not answered."""
    with made.runtime.engine.connect() as connection:
        rows = connection.execute(
            sa.text(
                "SELECT id, lease_owner FROM device_operations "
                "WHERE state IN ('running', 'waiting') AND sent_at IS NOT NULL"
            )
        )
        return {row[0]: row[1] for row in rows}


def _ended(made: Rig, ids: set[uuid.UUID]) -> bool:
    with made.runtime.engine.connect() as connection:
        return not connection.execute(
            sa.text(
                "SELECT 1 FROM device_operations WHERE id = ANY(:ids) "
                "AND state NOT IN ('succeeded', 'failed', 'cancelled')"
            ),
            {"ids": list(ids)},
        ).first()


def _succeeded_after(made: Rig, moment: datetime) -> list[datetime]:
    return sorted(
        at for state, _, at in _operations(made) if state == "succeeded" and at and at > moment
    )


@needs_mosquitto
@pytest.mark.slow
def test_the_survivor_takes_over_a_killed_controllers_devices_within_the_silence_timeout(
    committed: Runtime, spawn_broker: Any, tmp_path: Path
) -> None:
    mosquitto = spawn_broker()
    settings: dict[str, Any] = {
        "device_silence_timeout_seconds": SILENCE,
        "device_periodic_seconds": PERIODIC,
    }

    async def scenario() -> dict[str, float]:
        async with rig(committed, mosquitto.port, COUNT, controller=False, **settings) as made:
            env = {
                **controller_env(made.runtime, made.config, tmp_path / "data"),
                "DOORSTEP_DEVICE_SILENCE_TIMEOUT_SECONDS": str(SILENCE),
                "DOORSTEP_DEVICE_PERIODIC_SECONDS": str(PERIODIC),
                "DOORSTEP_USP_TRAFFIC_HOOK_INTERVAL": str(TRAFFIC_HOOK),
            }
            killed, survivor = await asyncio.gather(
                controller_process(env, tmp_path / "killed.log"),
                controller_process(env, tmp_path / "survivor.log"),
            )
            done = asyncio.Event()
            marked: list[int] = []
            tasks: list[asyncio.Task[None]] = []
            try:
                await made.connect()
                for agent in made.agents:  # a Set is answered a second after it is applied
                    agent.timing = dataclasses.replace(agent.timing, answer=ANSWER)
                tasks += [
                    asyncio.create_task(_load(made, done)),
                    asyncio.create_task(_presence(made, done, marked)),
                ]
                begun = datetime.now(UTC)
                await wait_for(
                    lambda: (
                        len(_succeeded_after(made, begun)) >= 20
                        and len({o for o in _open(made).values() if o}) == 2
                    ),  # both hold a Set in flight
                    timeout=60,
                    what=lambda: f"operations: {sorted({(s, r) for s, r, _ in _operations(made)})}",
                )
                stop(killed, signal.SIGKILL)  # operations are in flight in both processes
                at = datetime.now(UTC)
                started = time.monotonic()
                held = await asyncio.to_thread(_open, made)
                everyone = {a.endpoint_id for a in made.agents}
                await wait_for(
                    lambda: seen_since(made.runtime, list(everyone), at) == everyone,
                    timeout=SILENCE,
                    what="a device was not heard from within the silence timeout",
                )
                heard = time.monotonic() - started
                await wait_for(lambda: _ended(made, set(held)), timeout=SILENCE)
                settled = time.monotonic() - started
                await wait_for(lambda: len(_succeeded_after(made, at)) >= 60, timeout=SILENCE)
                done.set()
                await asyncio.gather(*tasks)
                await wait_for(
                    lambda: all(s in ("succeeded", "failed") for s, _, _ in _operations(made)),
                    timeout=SILENCE,
                )
            finally:
                done.set()
                for task in tasks:
                    task.cancel()
                stop(survivor)
                stop(killed)
            ends = [at, *_succeeded_after(made, at)]
            gap = max((b - a).total_seconds() for a, b in itertools.pairwise(ends))
            outcomes = {(state, reason) for state, reason, _ in _operations(made)}
            assert outcomes == {("succeeded", None)}, outcomes
            assert sum(marked) == 0, "the presence sweep marked a device offline"
            for agent in made.agents:
                doubled = {m: n for m, n in agent.sets_applied.items() if n > 1}
                assert not doubled, doubled
            assert gap < SILENCE / 2, f"no operation succeeded for {gap:.1f} s"
            return {
                "heard": heard,
                "gap": gap,
                "held": len(held),
                "settled": settled,
                "ops": len(_operations(made)),
            }

    figures = run(scenario(), timeout=110)
    print(  # the figures for docs/benchmarks.md (pytest -s)
        f"\ncontroller killed: every device heard by the survivor within {figures['heard']:.1f} s; "
        f"longest gap between successes {figures['gap']:.1f} s; the {figures['held']} operations "
        f"in flight at the kill ended within {figures['settled']:.1f} s; {figures['ops']} in all"
    )
