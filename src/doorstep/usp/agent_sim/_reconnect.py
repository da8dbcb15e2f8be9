"""The reconnect loop every simulated transport shares.

A session runs until it ends or fails with one of the transport's connection
errors; then the agent waits a capped, jittered, doubling back-off (reset after a
session that got as far as connecting) and tries again, or waits the reboot time
after Reboot(), until ``stop`` is set.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
from collections.abc import Awaitable, Callable

from doorstep.usp.agent_sim.agent import SimAgent


async def keep_connected(
    agent: SimAgent,
    stop: asyncio.Event,
    session: Callable[[], Awaitable[None]],
    *,
    errors: tuple[type[BaseException], ...],
    reconnect_min: float,
    reconnect_max: float,
) -> None:
    """Run ``session()`` again and again until ``stop`` is set."""
    delay = reconnect_min
    while not stop.is_set():
        sessions = agent.sessions
        try:
            await session()
        except errors:
            pass
        finally:
            agent.session_ended()
        if agent.reboot.is_set():
            await asyncio.sleep(agent.timing.reboot)
            continue
        if agent.sessions != sessions:
            delay = reconnect_min
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), delay * random.uniform(0.5, 1.0))  # noqa: S311
        delay = min(delay * 2, reconnect_max)
