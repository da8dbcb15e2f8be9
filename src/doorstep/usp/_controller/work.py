"""A controller's background work: hooks and answers run as tasks, off the MTP's read path.

:class:`BackgroundWork` runs each coroutine it is given (:meth:`BackgroundWork.spawn`) as
a task, at most ``limit`` at once; the rest wait for a slot in arrival order.  Spawning
never waits: the MTP's read path hands a Record's work over and reads on.  A hook may
itself wait for an answer that only the read path delivers (the registration read after
a Connect Record), so a read path held until a slot freed held every answer until its
request timed out: with 1,000 agents back after a broker restart, most registration
reads failed that way.  We accept the memory of the work waiting (a task for each
accepted Record of a known endpoint) because a held read path also makes the broker drop
messages once its queue for this process is full.  A failure is logged by its type only.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Coroutine
from typing import Any

log = logging.getLogger("doorstep.usp.controller")


class BackgroundWork:
    """Tasks of a controller, bounded; create it inside the event loop that runs them."""

    def __init__(self, limit: int) -> None:
        self._slots = asyncio.Semaphore(limit)
        self._tasks: set[asyncio.Task[None]] = set()

    def spawn(self, work: Coroutine[Any, Any, None]) -> asyncio.Task[None]:
        """Run ``work`` as a task once a slot is free; never waits itself."""
        task = asyncio.get_running_loop().create_task(self._guard(work))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    async def _guard(self, work: Coroutine[Any, Any, None]) -> None:
        try:
            async with self._slots:
                await work
        except asyncio.CancelledError:
            work.close()  # cancelled while waiting for its slot: never started
            raise
        except Exception as exc:
            log.warning("usp background work failed: %s", type(exc).__name__)

    @property
    def running(self) -> int:
        """Tasks started or waiting for a slot."""
        return len(self._tasks)

    async def settle(self) -> None:
        """Wait for the work started so far (tests and shutdown)."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    async def cancel(self) -> None:
        """Cancel every task and wait until they ended."""
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*list(self._tasks), return_exceptions=True)
