"""The reconnect loop every simulated transport shares.

A session runs until it ends or fails with one of the transport's connection
errors; then the agent waits a capped, jittered, doubling back-off (reset after a
session that got as far as connecting) and tries again, or stays dark for its
:meth:`~doorstep.usp.agent_sim.agent.SimAgent.downtime` after a reboot, until ``stop``
is set.  Once it is set, a session gets a
moment to say goodbye and is then cut, so a stop never waits on connect or
disconnect timeouts.  A device switched off
(:meth:`SimAgent.power_off`) waits for power before it connects again.
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
        if not agent.powered.is_set():  # switched off: wait for power (or the end)
            powered = asyncio.create_task(agent.powered.wait())
            stopped = asyncio.create_task(stop.wait())
            await asyncio.wait([powered, stopped], return_when=asyncio.FIRST_COMPLETED)
            powered.cancel()
            stopped.cancel()
            continue
        sessions = agent.sessions
        try:
            await _until_stopped(session(), stop)
        except errors:
            pass
        finally:
            agent.session_ended()
        if agent.reboot.is_set():
            await asyncio.sleep(agent.downtime())
            continue
        if agent.sessions != sessions:
            delay = reconnect_min
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), delay * random.uniform(0.5, 1.0))  # noqa: S311
        delay = min(delay * 2, reconnect_max)


#: How long a session may take to end by itself once ``stop`` is set (a clean goodbye).
STOP_GRACE_SECONDS = 2.0


async def _until_stopped(work: Awaitable[None], stop: asyncio.Event) -> None:
    """Run ``work``; once ``stop`` is set, give it :data:`STOP_GRACE_SECONDS` to end, then cancel.

    A session ends by itself when ``stop`` is set (it says goodbye first), but one
    still connecting or waiting on the broker would hold the stop for its own
    timeouts; the device is switched off instead.  ``work``'s own error is raised.
    """
    task = asyncio.ensure_future(work)
    stopper = asyncio.create_task(stop.wait())
    try:
        await asyncio.wait({task, stopper}, return_when=asyncio.FIRST_COMPLETED)
        if not task.done():
            await asyncio.wait({task}, timeout=STOP_GRACE_SECONDS)
        if not task.done():
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
            return
        await task
    except asyncio.CancelledError:
        task.cancel()
        raise
    finally:
        stopper.cancel()
