"""What the fault tests (``test_faults_*``) share: a real-time runtime, registry probes,
and commands whose every outcome is kept.

* :func:`real_time` is ``committed``'s database on the wall clock, so that the times the
  controller hooks store (``last_seen``, ``refreshed_at``) can be compared with the
  moments the test broke something.
* :func:`registered_since` counts the agents whose registration was read and stored
  after a moment: that is "registered again" after a reconnection.
* :class:`Commands` sends Sets with msg_ids of its own, keeps each one's outcome, and
  checks them against what the agents say they applied (``SimAgent.sets_applied``):
  every command completed once or failed with one of the controller's errors, and none
  was applied twice.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from doorstep.core.clock import SystemClock
from doorstep.core.database import make_session_factory
from doorstep.core.runtime import Runtime
from doorstep.usp import SetResp, messages
from doorstep.usp.controller import (
    Controller,
    DeviceOfflineError,
    DeviceTimeoutError,
    MtpUnavailableError,
)

#: The errors a command may end with when the broker or the device is away; each maps to
#: a problem (503 device-offline, 503 mtp-unavailable, 504 device-timeout) in the API.
CLEAR_ERRORS = (DeviceTimeoutError, MtpUnavailableError, DeviceOfflineError)
WIFI = "device.wireless_config"
SSID = "Device.WiFi.SSID.1.SSID"


def real_time(committed: Runtime, **settings: Any) -> Runtime:
    """``committed``'s database, on the wall clock, with ``settings`` changed."""
    clock = SystemClock()
    return Runtime(
        settings=committed.settings.model_copy(update=settings),
        database_url=committed.database_url,
        engine=committed.engine,
        sessions=make_session_factory(committed.engine, clock),
        clock=clock,
    )


def registered_since(runtime: Runtime, endpoint_ids: Sequence[str], since: datetime) -> int:
    """How many of ``endpoint_ids`` are online with a registration stored after ``since``."""
    with runtime.engine.connect() as connection:
        return int(
            connection.execute(
                sa.text(
                    "SELECT count(*) FROM device_registrations WHERE endpoint_id = ANY(:e) "
                    "AND online AND firmware_version IS NOT NULL AND refreshed_at > :since"
                ),
                {"e": list(endpoint_ids), "since": since},
            ).scalar_one()
        )


def seen_since(runtime: Runtime, endpoint_ids: Sequence[str], since: datetime) -> set[str]:
    """The endpoints of ``endpoint_ids`` online with a contact stored after ``since``."""
    with runtime.engine.connect() as connection:
        rows = connection.execute(
            sa.text(
                "SELECT endpoint_id FROM device_registrations WHERE endpoint_id = ANY(:e) "
                "AND online AND last_seen > :since"
            ),
            {"e": list(endpoint_ids), "since": since},
        )
        return {row[0] for row in rows}


async def wait_for(
    probe: Callable[[], bool], timeout: float, what: Callable[[], str] | str = ""
) -> float:
    """Poll ``probe`` (on a thread) until true; the seconds it took.  Fails after ``timeout``."""
    started = time.monotonic()
    while not await asyncio.to_thread(probe):
        if time.monotonic() - started > timeout:
            raise AssertionError(what() if callable(what) else what or "not reached in time")
        await asyncio.sleep(0.2)
    return time.monotonic() - started


@dataclass
class Outcome:
    """One command: the agent it went to, and how it ended (None: answered)."""

    endpoint_id: str
    error: BaseException | None = None
    seconds: float = 0.0


@dataclass
class Commands:
    """Sets of the Wi-Fi name, each with a msg_id of its own, and their outcomes."""

    controller: Controller
    outcomes: dict[str, Outcome] = field(default_factory=dict)

    async def send(self, endpoint_id: str, *, timeout: float | None = None) -> Outcome:
        """One Set; its outcome is kept under its msg_id and returned (never raised)."""
        msg_id = self.controller.next_msg_id()
        msg = messages.set(msg_id, {SSID: f"net-{len(self.outcomes)}"})
        outcome = self.outcomes[msg_id] = Outcome(endpoint_id)
        started = time.monotonic()
        try:
            await self.controller.request(endpoint_id, msg, SetResp, timeout=timeout, purpose=WIFI)
        except Exception as exc:  # kept and judged by check()
            outcome.error = exc
        outcome.seconds = time.monotonic() - started
        return outcome

    async def keep_busy(
        self, endpoint_ids: Sequence[str], in_flight: int, stop: asyncio.Event
    ) -> None:
        """``in_flight`` commands at a time, round-robin over ``endpoint_ids``, until ``stop``."""
        turn = iter(range(1 << 62))

        async def worker() -> None:
            while not stop.is_set():
                outcome = await self.send(endpoint_ids[next(turn) % len(endpoint_ids)])
                if outcome.error is not None:
                    await asyncio.sleep(0.2)  # the broker is away: do not spin

        await asyncio.gather(*(worker() for _ in range(in_flight)))

    def failed(self) -> dict[str, BaseException]:
        """msg_id -> error of the commands that failed."""
        return {m: o.error for m, o in self.outcomes.items() if o.error is not None}

    def check(self, applied: Mapping[str, Mapping[str, int]], longest: float) -> None:
        """Every command answered and applied once, or failed clearly and applied at most once.

        ``applied`` is endpoint id -> msg_id -> times the agent applied that Set;
        ``longest`` is the most a command may take (its timeout and a margin).
        """
        for msg_id, outcome in self.outcomes.items():
            times = applied.get(outcome.endpoint_id, {}).get(msg_id, 0)
            if outcome.error is None:
                assert times == 1, f"{msg_id} answered but applied {times} times"
            else:
                assert isinstance(outcome.error, CLEAR_ERRORS), repr(outcome.error)
                assert times <= 1, f"{msg_id} failed and was applied {times} times"
            assert outcome.seconds <= longest, f"{msg_id} took {outcome.seconds:.1f} s"
        for endpoint_id, sets in applied.items():  # the set-up's own Sets included
            doubled = {m: n for m, n in sets.items() if n > 1}
            assert not doubled, f"applied twice on {endpoint_id}: {doubled}"
