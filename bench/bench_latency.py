"""End-to-end latency of a subscriber's access and deletion requests (issue 20, item 8).

A real ``doorstep serve`` and a real ``doorstep worker`` run as processes of their
own on a clone of the benchmark fleet (:mod:`bench._latency_processes`), with
deletion among the automatic kinds (``requests_automatic``), as an operator who
erases without review sets it.  Each ordinary subject is signed in (a session
issued as sign-in issues it; the password check is not part of the figure), and
one at a time:

* **access**: ``POST /api/v1/me/requests`` (kind ``access``), until the request's
  export is ``ready`` — in the POST's answer, or else by ``GET /api/v1/me/requests``
  — so that the next call downloads it (the ZIP is downloaded after the clock
  stops, to prove it);
* **deletion**: the same with kind ``deletion`` until the request is
  ``completed`` — or until the session is refused (401), which happens in the
  transaction that completes the request, since the erasure ends the account's
  sessions; the request's status is then read from the database to confirm.

Two ways, each with a ``serve`` and a ``worker`` of its own (:data:`MODES`): every
export and erasure left to the worker (``requests_inline_ms = 0``, the path before
decision 0046), and the default, where the API does the job before answering.
The status is polled every :data:`POLL_SECONDS` (2 ms) over one keep-alive
connection, so polling adds a few milliseconds at most and is not what is
measured.  The baseline, measured in the same run in this process, is the core
work alone as ``bench_requests`` measures it: building one ordinary subject's
export, and one ordinary subject's erasure transaction.  Where the time goes is
read afterwards from the database for each timed request (:data:`STAGE_NAMES`):
from sending the POST to the request's ``received_at``, from there to its job's
``started`` event (a worker's fetch, or the API's claim), from there to the
request's ``closed_at``, and from there until the client saw it.  All instants are
this machine's wall clock.  Target: p50 <= 30 ms for both.
"""

from __future__ import annotations

import io
import time
import uuid
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx
import sqlalchemy as sa

from bench._latency_processes import fallbacks, served
from bench.harness import BenchContext, Figure, percentile
from doorstep.accounts.context import AccountContext
from doorstep.accounts.sessions import tokens
from doorstep.core.database import transaction
from doorstep.privacy.requests.context import RequestContext
from doorstep.privacy.requests.erasure import erase_subject
from doorstep.privacy.requests.export import build
from doorstep.privacy.requests.fulfil import ERASE_TASK, EXPORT_TASK
from doorstep.schema import metadata
from doorstep.wiring import Services, build_services

FLEET = True
#: Seconds between two status polls.
POLL_SECONDS = 0.002
#: Seconds one request may take before the bench gives up on it.
TIMEOUT_SECONDS = 30.0
#: What the bench's serve and worker run with (deletion is carried out without review).
SETTINGS = {"DOORSTEP_REQUESTS_AUTOMATIC": '["access", "portability", "deletion"]'}
#: The two ways measured, each through a serve of its own (one worker serves both): every
#: request left to the worker (as before decision 0046), and carried out before the answer.
MODES = {"by the worker": {"DOORSTEP_REQUESTS_INLINE_MS": "0"}, "at once": {}}
ACTOR = "system:bench"
ERASE = {"kind": "deletion", "ground": "NO_LONGER_USED_OR_ACCOUNT_CANCELLED"}
TARGET = "p50 <= 30 ms"
#: The stages :func:`_stages` splits a request into.
STAGE_NAMES = {
    "received": "POST sent to request received",
    "started": "received to its job started",
    "closed": "job started to request closed",
    "seen": "closed to seen by the client",
}


@dataclass(frozen=True)
class Timed:
    """One request's client-side instants (``time.time()``)."""

    request_id: uuid.UUID
    sent: float
    answered: float
    seen: float
    answered_done: bool

    @property
    def total(self) -> float:
        """Seconds from sending the POST to seeing the request done."""
        return self.seen - self.sent


def _sign_in(services: Services, subjects: list[uuid.UUID]) -> dict[uuid.UUID, str]:
    context = AccountContext.of(services)
    with transaction(services.runtime.sessions) as session:
        return {s: tokens.issue(session, context, s).access_token for s in subjects}


def _ready(entry: dict[str, Any]) -> bool:
    return bool(entry["export"] == "ready")


def _completed(entry: dict[str, Any]) -> bool:
    return bool(entry["status"] == "completed")


def _polled(client: httpx.Client, request_id: str, done: Callable[[dict[str, Any]], bool]) -> bool:
    answer = client.get("/api/v1/me/requests")
    if answer.status_code == 401:  # an erasure ends the session, with the request
        return True
    answer.raise_for_status()
    return any(entry["id"] == request_id and done(entry) for entry in answer.json())


def _one(
    url: str, token: str, body: dict[str, str], done: Callable[[dict[str, Any]], bool]
) -> Timed:
    headers = {"Authorization": f"Bearer {token}"}
    with httpx.Client(base_url=url, headers=headers, timeout=10) as client:
        client.get("/healthz")  # open the connection before the clock starts
        sent = time.time()
        answer = client.post("/api/v1/me/requests", json=body)
        answered = time.time()
        answer.raise_for_status()
        request_id = answer.json()["id"]
        finished = done(answer.json())
        while not finished:
            if time.time() - sent > TIMEOUT_SECONDS:
                raise RuntimeError(f"request {request_id} not done in {TIMEOUT_SECONDS} s")
            time.sleep(POLL_SECONDS)
            finished = _polled(client, request_id, done)
        seen = time.time()
        if body["kind"] == "access":
            archive = client.get(f"/api/v1/me/requests/{request_id}/export")
            archive.raise_for_status()
            assert zipfile.ZipFile(io.BytesIO(archive.content)).namelist()
    return Timed(uuid.UUID(request_id), sent, answered, seen, answered_done=done(answer.json()))


_STAGES = sa.text(
    "SELECT r.id, r.status, r.received_at, r.closed_at, "
    "(SELECT min(e.at) FROM procrastinate_jobs j JOIN procrastinate_events e ON e.job_id = j.id "
    " WHERE j.queueing_lock = :task || ':' || r.id::text AND e.type = 'started') AS started "
    "FROM subject_requests r WHERE r.id = ANY(:ids)"
)


def _stages(ctx: BenchContext, task: str, timed: list[Timed]) -> dict[str, list[float]]:
    """Milliseconds per stage of each timed request (see the module docstring)."""
    with ctx.engine.connect() as connection:
        rows = {
            row.id: row
            for row in connection.execute(
                _STAGES, {"task": task, "ids": [t.request_id for t in timed]}
            )
        }
    stages: dict[str, list[float]] = {name: [] for name in STAGE_NAMES}
    for one in timed:
        row = rows[one.request_id]
        assert row.status == "completed", f"request {one.request_id} is {row.status}"
        received: float = row.received_at.timestamp()
        started: float = row.started.timestamp()
        closed: float = row.closed_at.timestamp()
        stages["received"].append((received - one.sent) * 1000)
        stages["started"].append((started - received) * 1000)
        stages["closed"].append((closed - started) * 1000)
        stages["seen"].append((one.seen - closed) * 1000)
    return stages


def _export_alone(services: Services, subject: uuid.UUID) -> float:
    """Seconds of one export build alone, in a transaction of its own."""
    runtime = services.runtime
    pack = RequestContext.of(services).policy
    started = time.perf_counter()
    with transaction(runtime.sessions) as session:
        build(session, services.keys, metadata, pack, subject, now=runtime.clock.now())
    return time.perf_counter() - started


def _erasure_alone(services: Services, subject: uuid.UUID) -> float:
    """Seconds of one erasure transaction alone."""
    ctx = RequestContext.of(services)
    started = time.perf_counter()
    with transaction(services.runtime.sessions) as session:
        erase_subject(session, ctx, services.keys, subject, request_id=None, actor=ACTOR)
    return time.perf_counter() - started


def _figures(
    label: str, timed: list[Timed], baseline: list[float], stages: dict[str, list[float]]
) -> list[Figure]:
    totals = [t.total * 1000 for t in timed]
    core = "export built" if label.startswith("access") else "erasure transaction"
    return [
        Figure(
            f"{label}: end to end, p50",
            percentile(totals, 50),
            "ms",
            target=TARGET,
            baseline=percentile(baseline, 50) * 1000,
            baseline_name=f"{core} alone, p50",
            note=f"{len(timed)} subjects, one at a time; status polled every 2 ms",
        ),
        Figure(
            f"{label}: end to end, p99",
            percentile(totals, 99),
            "ms",
            baseline=percentile(baseline, 99) * 1000,
            baseline_name=f"{core} alone, p99",
        ),
        *(
            Figure(f"{label}: {STAGE_NAMES[stage]}, p50", percentile(ms, 50), "ms")
            for stage, ms in stages.items()
        ),
        Figure(
            f"{label}: done when the POST answered",
            sum(t.answered_done for t in timed),
            f"of {len(timed)}",
        ),
    ]


def run(ctx: BenchContext) -> list[Figure]:
    """Measure the figures above on a clone of the fleet."""
    fleet = ctx.fleet
    assert fleet is not None, "bench_latency needs the fleet (FLEET = True)"
    services = build_services(ctx.runtime)
    count = 20 if ctx.quick else 100
    warm = 5
    sample = iter(fleet.sample)
    for _ in range(10):  # warm the key cache and the compiled statements
        _export_alone(services, next(sample))
        _erasure_alone(services, next(sample))
    rounds = [[next(sample) for _ in range(6)] for _ in range(warm + count)]
    tokens = _sign_in(services, [s for subjects in rounds for s in subjects[2:]])
    alone: dict[str, list[float]] = {"access": [], "deletion": []}
    timed: dict[tuple[str, str], list[Timed]] = {
        (kind, mode): [] for kind in alone for mode in MODES
    }
    with served(ctx, SETTINGS, list(MODES.values())) as urls:
        for index, (export, erasure, *asked) in enumerate(rounds):
            # One of each, one after the other, so that all see the same load; the
            # order of the two ways alternates.
            ways = list(zip(MODES, urls, strict=True))[:: 1 if index % 2 else -1]
            took = {"access": _export_alone(services, export)}
            got = [
                ("access", mode, _one(url, tokens[subject], {"kind": "access"}, _ready))
                for (mode, url), subject in zip(ways, asked[:2], strict=True)
            ]
            took["deletion"] = _erasure_alone(services, erasure)
            got += [
                ("deletion", mode, _one(url, tokens[subject], ERASE, _completed))
                for (mode, url), subject in zip(ways, asked[2:], strict=True)
            ]
            if index >= warm:
                for kind, seconds in took.items():
                    alone[kind].append(seconds)
                for kind, mode, one in got:
                    timed[kind, mode].append(one)
    figures = []
    for (kind, mode), requests in timed.items():
        task = EXPORT_TASK if kind == "access" else ERASE_TASK
        stages = _stages(ctx, task, requests)
        figures += _figures(f"{kind}, {mode}", requests, alone[kind], stages)
    # The rest of those not done when the POST answered were a worker's first (woken by
    # the same commit as the serve's claim).
    figures.append(
        Figure(
            "at once: handed back to the worker (budget passed, or an error)", fallbacks(ctx), ""
        )
    )
    return figures
