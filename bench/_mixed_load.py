"""The mixed-load bench's driver: the operations, an open-loop schedule, one at a time.

An operation is a subscriber's HTTP call with the answer it expects
(:data:`MIX`): list my devices (200), read a device's live status (200), set its
Wi-Fi (204), file an access request (201) and a deletion request (201).
:func:`plan` draws the operation of each slot from the mix with a seeded
generator, so two runs send the same sequence.

:func:`drive` is open-loop: slot ``i`` is due at ``start + i / rate`` whether or not
earlier answers came, on the serve ``i mod n`` (one keep-alive client per serve, at
most :data:`IN_FLIGHT` requests in flight on each; more wait in the driver), and
its latency runs from that due instant to the answer, so time spent queued (in the
driver, a serve or the database) counts.  What is not answered
:data:`DRAIN_SECONDS` after the last slot was due is abandoned (status -1), so a
run that the system cannot keep up with still ends.  :func:`one_at_a_time` sends
operations one after the other with nothing else in flight: the baseline.  Every
answer is a :class:`Sample`; an unexpected status, a transport error (status 0, a
timeout included) or an abandoned request is an error.  Each access and deletion
takes the next subject of its own list: no subject files twice, none is erased
twice.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import httpx

#: Each operation's share of the load (issue 20, item 7).
MIX = {"list devices": 35, "live status": 25, "set Wi-Fi": 15, "access": 15, "deletion": 10}
#: Seconds a request may take once sent before it counts as an error (status 0).
TIMEOUT_SECONDS = 30.0
#: Requests in flight on one serve at most (each holds a keep-alive connection).
IN_FLIGHT = 256
#: Seconds after the last slot was due until the requests still open are abandoned.
DRAIN_SECONDS = 40.0
#: Seconds an idle keep-alive connection is kept (uvicorn closes its side after 5).
KEEPALIVE_SECONDS = 3.0
#: The body of a deletion request (the ground an app's "delete my account" gives).
ERASE = {"kind": "deletion", "ground": "NO_LONGER_USED_OR_ACCOUNT_CANCELLED"}
_DEVICES = "/api/v1/devices"
_REQUESTS = "/api/v1/me/requests"


@dataclass(frozen=True)
class Subscriber:
    """A signed-in subscriber with one live (simulated) router bound to them."""

    token: str
    device_id: uuid.UUID


@dataclass
class Subjects:
    """Who sends what: device owners in turn; access and deletion each use a subject once."""

    devices: list[Subscriber]
    access: Iterator[str]
    deletion: Iterator[str]


@dataclass(frozen=True)
class Sample:
    """One answered (or failed) operation: seconds from its scheduled instant to the answer."""

    operation: str
    seconds: float
    status: int
    """The HTTP status; 0: a transport error or timeout; -1: abandoned (see the module)."""
    ok: bool
    lag: float = 0.0
    """Seconds the driver sent it after its due instant (waiting for a free slot included)."""


@dataclass
class _Call:
    method: str
    path: str
    token: str
    expected: int
    body: dict[str, Any] | None = field(default=None)


def plan(count: int, seed: int) -> list[str]:
    """``count`` operations drawn from :data:`MIX` (the same ``seed``, the same list)."""
    draw = random.Random(seed)
    return draw.choices(list(MIX), weights=list(MIX.values()), k=count)


def _call(operation: str, index: int, subjects: Subjects) -> _Call:
    owner = subjects.devices[index % len(subjects.devices)]
    device = f"{_DEVICES}/{owner.device_id}"
    if operation == "list devices":
        return _Call("GET", _DEVICES, owner.token, 200)
    if operation == "live status":
        return _Call("GET", f"{device}/status", owner.token, 200)
    if operation == "set Wi-Fi":
        body = {"ssid": f"bench-{index % 1000:03d}", "passphrase": "long-enough-pass"}
        return _Call("PUT", f"{device}/wifi", owner.token, 204, body)
    if operation == "access":
        return _Call("POST", _REQUESTS, next(subjects.access), 201, {"kind": "access"})
    if operation == "deletion":
        return _Call("POST", _REQUESTS, next(subjects.deletion), 201, ERASE)
    raise ValueError(f"unknown operation {operation!r}")


@asynccontextmanager
async def clients(urls: list[str], warm: int = 32) -> AsyncIterator[list[httpx.AsyncClient]]:
    """One keep-alive client per serve, with ``warm`` connections opened beforehand.

    Idle connections are closed after :data:`KEEPALIVE_SECONDS`, before uvicorn closes
    them (5 s), so that no request goes out on a connection the server is closing.
    """
    limits = httpx.Limits(
        max_connections=IN_FLIGHT,
        max_keepalive_connections=IN_FLIGHT,
        keepalive_expiry=KEEPALIVE_SECONDS,
    )
    async with AsyncExitStack() as stack:
        found = [
            await stack.enter_async_context(
                httpx.AsyncClient(base_url=url, limits=limits, timeout=TIMEOUT_SECONDS)
            )
            for url in urls
        ]
        for client in found:  # open the connections before any clock starts
            await asyncio.gather(*(client.get("/healthz") for _ in range(warm)))
        yield found


async def _send(client: httpx.AsyncClient, call: _Call) -> int:
    headers = {"Authorization": f"Bearer {call.token}"}
    try:
        answer = await client.request(call.method, call.path, json=call.body, headers=headers)
    except httpx.TransportError:  # refused, reset, timed out
        return 0
    return answer.status_code


async def drive(
    found: list[httpx.AsyncClient],
    subjects: Subjects,
    operations: list[str],
    rate: float,
    in_flight: int = IN_FLIGHT,
) -> tuple[list[Sample], float]:
    """Send ``operations`` open-loop at ``rate`` per second: the samples and the seconds taken.

    At most ``in_flight`` requests are open on one serve at a time (as a proxy's
    connection limit would keep them); the others wait in the driver, on the clock.
    The seconds run from the first due instant to the last answer (or the abandonment).
    """
    loop = asyncio.get_running_loop()
    start = loop.time() + 0.1
    slots = [asyncio.Semaphore(min(in_flight, IN_FLIGHT)) for _ in found]
    samples: list[Sample] = []
    calls = [_call(operation, index, subjects) for index, operation in enumerate(operations)]

    async def one(index: int, due: float) -> None:
        call, operation = calls[index], operations[index]
        async with slots[index % len(found)]:
            sent = loop.time()
            status = await _send(found[index % len(found)], call)
        ok = status == call.expected
        samples.append(Sample(operation, loop.time() - due, status, ok, sent - due))

    tasks = {}
    for index in range(len(operations)):
        due = start + index / rate
        delay = due - loop.time()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks[index] = asyncio.create_task(one(index, due))
    _, pending = await asyncio.wait(tasks.values(), timeout=DRAIN_SECONDS)
    for task in pending:
        task.cancel()
    await asyncio.gather(*pending, return_exceptions=True)
    took = loop.time() - start
    samples += [
        Sample(operations[index], took - index / rate, -1, False)
        for index, task in tasks.items()
        if task in pending
    ]
    return samples, took


async def one_at_a_time(
    found: list[httpx.AsyncClient], subjects: Subjects, operations: list[str]
) -> list[Sample]:
    """Send ``operations`` one after the other, nothing else in flight (the baseline)."""
    loop = asyncio.get_running_loop()
    samples = []
    for index, operation in enumerate(operations):
        call = _call(operation, index, subjects)
        began = loop.time()
        status = await _send(found[index % len(found)], call)
        samples.append(Sample(operation, loop.time() - began, status, status == call.expected))
    return samples


async def settle(found: list[httpx.AsyncClient], owner: Subscriber, limit: float = 90.0) -> float:
    """Wait until every serve lists ``owner``'s devices within a second; the seconds waited."""
    loop = asyncio.get_running_loop()
    began = loop.time()
    headers = {"Authorization": f"Bearer {owner.token}"}
    for client in found:
        while loop.time() - began < limit:
            asked = loop.time()
            with contextlib.suppress(httpx.TransportError):
                answer = await client.get(_DEVICES, headers=headers, timeout=5)
                if answer.status_code == 200 and loop.time() - asked < 1:
                    break
            await asyncio.sleep(0.5)
    return loop.time() - began
