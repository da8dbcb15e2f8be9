"""Mixed load: subscribers' everyday calls at a fixed arrival rate (issue 20, item 7).

What runs, on a clone of the benchmark fleet, each a process of its own: two
``doorstep serve`` replicas that also join the MQTT broker (``device_serve_mqtt``),
two ``doorstep worker``s and one ``doorstep controller`` (:mod:`._latency_processes`),
a Mosquitto of the bench's own on loopback (:mod:`._usp_broker`; the one on port
1883 when Mosquitto is not installed), and simulated routers over MQTT 5
(:mod:`._mixed_agents`).  Deletion is among the automatic kinds
(``requests_automatic``), as an operator who erases without review sets it.

Who: fleet subjects throughout (ordinary ones, never the heavy subjects or their
look-alikes), each signed in with a session issued as sign-in issues it.  The
first :data:`DEVICE_SUBJECTS` get one simulated router each, provisioned into the
inventory and bound through ``POST /api/v1/devices/bindings`` with its claim code,
beside the ~9 fleet devices they already hold (which are never online): they list
their devices, read the router's live status and set its Wi-Fi.  Each access and
deletion request is filed by a subject of its own (:mod:`._mixed_load`).

How: the operations are drawn from :data:`~._mixed_load.MIX` (list devices 35 %,
live status 25 %, set Wi-Fi 15 %, access 15 %, deletion 10 %) and sent open-loop
for :data:`SECONDS` per run of :data:`RUNS` (latency from each request's due
instant to its answer, queueing included), round-robin over the two serves, from
this process (one asyncio loop, httpx keep-alive clients; its CPU is reported).
The baseline, in the same run before the load: the same operations one at a time
(:data:`BASELINE_ROUNDS` of each, after :data:`WARM_ROUNDS` untimed).  Each run has
serve, worker and controller processes of its own (the devices stay connected), so
one run's backlog never reaches the next; after it, the seconds until both serves
answer promptly again are a figure.  CPU per kind of process is charged over each
run (:mod:`._mixed_cpu`); the errors by status go to stderr.  Target: 200
requests/s with p99 < 100 ms and no error; printed, never asserted
(:mod:`._mixed_figures`).
"""

from __future__ import annotations

import asyncio
import secrets
import sys
import tempfile
import uuid
from collections import Counter
from pathlib import Path
from typing import NamedTuple

import sqlalchemy as sa

from bench import _mixed_agents
from bench._latency_processes import Processes, fallbacks, log_of, started
from bench._mixed_cpu import CpuMeter
from bench._mixed_figures import baseline_figures, baseline_of, run_figures, statuses
from bench._mixed_load import (
    IN_FLIGHT,
    MIX,
    Sample,
    Subjects,
    clients,
    drive,
    one_at_a_time,
    plan,
    settle,
)
from bench._usp_broker import mosquitto_binary, start_broker, stop_broker
from bench.harness import BenchContext, Figure
from doorstep.accounts.context import AccountContext
from doorstep.accounts.sessions import tokens
from doorstep.core.database import transaction
from doorstep.usp.agent_sim import MqttOptions, SimAgent
from doorstep.wiring import build_services

FLEET = True


class Run(NamedTuple):
    """One load run: the arrival rate and, if capped, the requests in flight per serve."""

    rate: int
    in_flight: int | None = None

    @property
    def label(self) -> str:
        """``200/s``, or ``200/s, <= 8 in flight per serve``."""
        capped = f", <= {self.in_flight} in flight per serve" if self.in_flight else ""
        return f"{self.rate}/s{capped}"


#: The runs, in this order; the target is at 200/s.  The first three send each request
#: when it is due; the last two keep at most 8 open on each serve (as a proxy's connection
#: limit would: fewer than a serve's 20 pooled connections), the rest waiting in the driver.
RUNS = (Run(20), Run(50), Run(200), Run(50, 8), Run(200, 8))
#: Seconds each rate runs (quick, full).
SECONDS = {True: 20, False: 60}
#: Subscribers with a live simulated router (quick, full).
DEVICE_SUBJECTS = {True: 40, False: 100}
#: Timed rounds of one of each operation, one at a time (quick, full).
BASELINE_ROUNDS = {True: 20, False: 50}
WARM_ROUNDS = 5
#: Seconds the devices get to register, and to answer their first live status.
READY_SECONDS = 120.0
#: Seconds after a rate's run that the serves get to answer promptly again.
SETTLE_SECONDS = 30.0
CONTROLLER_ID = "self::doorstep-bench-mixed"


def _common(port: int, root: str) -> dict[str, str]:
    """What every serve, worker and controller runs with."""
    usp = {
        "CONTROLLER_ID": CONTROLLER_ID,
        "MQTT_URL": f"mqtt://127.0.0.1:{port}",
        "MQTT_CONTROLLER_TOPIC": f"{root}/controller",
        "MQTT_RESPONSE_TOPIC": f"{root}/response",
        "MQTT_AGENT_TOPIC": f"{root}/agent",
        "MQTT_SHARED_GROUP": f"g{secrets.token_hex(3)}",
    }
    return {
        "DOORSTEP_REQUESTS_AUTOMATIC": '["access", "portability", "deletion"]',
        "DOORSTEP_DEVICE_SERVE_MQTT": "true",
        **{f"DOORSTEP_USP_{name}": value for name, value in usp.items()},
    }


def _operations(quick: bool) -> tuple[list[str], list[tuple[Run, list[str]]], Counter[str]]:
    """The one-at-a-time operations, each run's, and how many of each there are in all."""
    alone = [op for _ in range(WARM_ROUNDS + BASELINE_ROUNDS[quick]) for op in MIX]
    loads = [(run, plan(run.rate * SECONDS[quick], seed=run.rate)) for run in RUNS]
    counts = Counter(alone)
    for _, operations in loads:
        counts.update(operations)
    return alone, loads, counts


def _ordinary(ctx: BenchContext, count: int) -> list[uuid.UUID]:
    """``count`` ordinary fleet subjects with an active account, in a fixed order."""
    fleet = ctx.fleet
    assert fleet is not None, "bench_mixed needs the fleet (FLEET = True)"
    other = [*fleet.heavy, *(s for looks in fleet.lookalikes.values() for s in looks)]
    with ctx.engine.connect() as connection:
        subjects = list(
            connection.execute(
                sa.text(
                    "SELECT id FROM accounts WHERE status = 'active' AND id <> ALL(:other) "
                    "ORDER BY md5(id::text) LIMIT :count"
                ),
                {"other": other, "count": count},
            ).scalars()
        )
    if len(subjects) < count:
        raise RuntimeError(f"the fleet has {len(subjects)} ordinary subjects, {count} needed")
    return subjects


def _sign_in(ctx: BenchContext, subjects: list[uuid.UUID]) -> list[str]:
    context = AccountContext.of(build_services(ctx.runtime))
    with transaction(ctx.runtime.sessions) as session:
        return [tokens.issue(session, context, s).access_token for s in subjects]


_STALLED = sa.text(
    "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
    "AND application_name = 'doorstep-serve' AND state = 'idle in transaction' "
    "AND state_change < now() - interval '5 seconds'"
)


def _stalled(ctx: BenchContext) -> int:
    """The serves' connections idle in a transaction for over 5 s now (a request stuck)."""
    with ctx.engine.connect() as connection:
        return int(connection.scalar(_STALLED) or 0)


async def _baseline(
    running: Processes, agents: list[SimAgent], owned: list[str], subjects: Subjects, quick: bool
) -> list[Sample]:
    """Bind the devices (``subjects.devices``), then the one-at-a-time samples, warm-up left out."""
    async with clients(running.urls, warm=4) as found:
        subjects.devices = await _mixed_agents.bind(found[0], owned, agents)
        await _mixed_agents.reachable(found, subjects.devices, READY_SECONDS)
        alone = await one_at_a_time(found, subjects, _operations(quick)[0])
    return alone[WARM_ROUNDS * len(MIX) :]


async def _load(
    ctx: BenchContext,
    running: Processes,
    subjects: Subjects,
    operations: list[str],
    run: Run,
    meter: CpuMeter,
) -> tuple[list[Sample], float, tuple[float, int]]:
    """One run's samples, its seconds, and what came after (:func:`run_figures`)."""
    async with clients(running.urls) as found:
        await _mixed_agents.reachable(found, subjects.devices, READY_SECONDS)
        meter.start()
        cap = run.in_flight or IN_FLIGHT
        samples, took = await drive(found, subjects, operations, run.rate, cap)
        meter.stop()
        stalled = _stalled(ctx)
        settled = await settle(found, subjects.devices[0], SETTLE_SECONDS)
    return samples, took, (settled, stalled)


def _measure(
    ctx: BenchContext,
    common: dict[str, str],
    agents: list[SimAgent],
    signed_in: list[str],
    others: dict[str, list[int]],
) -> list[Figure]:
    """The baseline, then each run on processes of its own; the figures.

    ``others``: the process ids of the simulated routers and the broker, by kind.
    """
    _, loads, counts = _operations(ctx.quick)
    owned, asking = signed_in[: len(agents)], signed_in[len(agents) :]
    access, deletion = asking[: counts["access"]], asking[counts["access"] :]
    subjects = Subjects([], iter(access), iter(deletion))
    with started(ctx, common, [{}, {}], workers=2, controllers=1) as running:
        _mixed_agents.wait_registered(ctx.runtime, [a.endpoint_id for a in agents], READY_SECONDS)
        timed = asyncio.run(_baseline(running, agents, owned, subjects, ctx.quick))
    baseline = baseline_of(timed)
    figures = baseline_figures(timed)
    for run, operations in loads:
        with started(ctx, common, [{}, {}], workers=2, controllers=1) as running:
            pids = running.pids()
            kinds = {"serves (2)": pids["serve"], "workers (2)": pids["worker"]}
            meter = CpuMeter(ctx.engine, {**kinds, "controller": pids["controller"], **others})
            samples, took, after = asyncio.run(
                _load(ctx, running, subjects, operations, run, meter)
            )
        print(f"bench mixed: {run.label}: errors by status: {statuses(samples)}", file=sys.stderr)
        figures += run_figures(run.label, run.rate, samples, took, baseline, meter.cores(), after)
    return figures


def run(ctx: BenchContext) -> list[Figure]:
    """Measure the figures above on a clone of the fleet."""
    devices = DEVICE_SUBJECTS[ctx.quick]
    counts = _operations(ctx.quick)[2]
    signed_in = _sign_in(ctx, _ordinary(ctx, devices + counts["access"] + counts["deletion"]))
    batch, agents = _mixed_agents.make(devices, CONTROLLER_ID)
    _mixed_agents.provision(ctx.runtime, agents)
    mosquitto = mosquitto_binary()
    with tempfile.TemporaryDirectory(prefix="doorstep-bench-mixed-") as scratch:
        broker, port = start_broker(mosquitto, Path(scratch)) if mosquitto else (None, 1883)
        root = f"doorstep-bench-mixed/{secrets.token_hex(4)}"
        options = MqttOptions(
            port=port,
            controller_topic=f"{root}/controller",
            agent_topic=f"{root}/agent",
            use_credentials=False,
        )
        try:
            with _mixed_agents.running(Path(scratch), batch, agents, options, log_of(ctx)) as sim:
                others = {"simulated routers": [sim.pid]}
                if broker is not None:
                    others["Mosquitto"] = [broker.pid]
                figures = _measure(ctx, _common(port, root), agents, signed_in, others)
        finally:
            stop_broker(broker)
    figures.append(
        Figure(
            "requests handed back to the worker (budget passed, or an error)", fallbacks(ctx), ""
        )
    )
    return figures
