"""A contact during a running set-up makes one more run follow it (never lost, never piled up).

The set-up of an agent reads what it holds, then adds what is missing.  An agent
that is factory-reset while a run is in flight reconnects at once; the running set-up
may have read it before the reset, so a second run must follow — and only one, however
many contacts arrived meanwhile.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from doorstep.core.runtime import Runtime
from doorstep.devices import upkeep
from doorstep.devices.upkeep import AgentUpkeep
from doorstep.usp.agent_setup import SetupReport


class _Controller:
    """What the set-up's plan needs of a controller."""

    class config:
        mqtt_controller_topic = "usp/controller"

    def ref(self, endpoint_id: str) -> str:
        return "ref"


def test_contacts_during_a_run_are_followed_by_exactly_one_more_run(
    runtime: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    started: list[str] = []
    release = asyncio.Event()

    async def setup(controller: Any, endpoint_id: str, plan: Any, **options: Any) -> SetupReport:
        started.append(endpoint_id)
        await release.wait()
        return SetupReport()

    monkeypatch.setattr(upkeep, "ensure_agent_setup", setup)
    keeper = AgentUpkeep(runtime)
    controller: Any = _Controller()

    async def settle() -> None:
        for _ in range(20):
            await asyncio.sleep(0)

    async def scenario() -> None:
        first = asyncio.create_task(keeper.ensure(controller, "os::A", None))
        await settle()
        assert started == ["os::A"]
        # Three contacts while the first run is still reading the agent.
        later = [asyncio.create_task(keeper.ensure(controller, "os::A", None)) for _ in range(3)]
        await settle()
        assert started == ["os::A"], "no second run while one runs"
        release.set()
        await asyncio.gather(first, *later)
        await settle()
        assert started == ["os::A", "os::A"], "exactly one run follows"
        # Nothing pending any more: a later contact runs once, alone.
        await keeper.ensure(controller, "os::A", None)
        await settle()
        assert started == ["os::A", "os::A", "os::A"]

    asyncio.run(scenario())
