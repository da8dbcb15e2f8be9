"""Simulated routers and gateways for ``doorstep demo``, against the demo's own server.

:func:`demo_agents` makes a few simulated devices (:mod:`doorstep.usp.agent_sim`),
provisions them into the demo's inventory (hashes only, as ``doorstep devices
import`` would), and runs them over WebSocket in a thread of their own until the
demo stops.  They connect to ``/usp`` of the demo server, whose controller hooks
register them in the demo database; the printed claim codes and QR payloads bind
them through the API.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Iterator

from doorstep.core.runtime import Runtime
from doorstep.devices.inventory import FactoryRecord, import_records, installation_key
from doorstep.usp.agent_sim import SimAgent, WebSocketOptions, make_agents, run_fleet
from doorstep.usp.agent_sim.fleet import SIM_HASH_LOG_N
from doorstep.usp.config import load_usp_config


def describe(agents: list[SimAgent]) -> list[str]:
    """One line per device: endpoint id, product, claim code to type, QR payload to scan."""
    return [
        f"  {agent.profile.product_class:<8} claim code {agent.display_claim_code()}"
        f"   QR {agent.claim_payload()}"
        for agent in agents
    ]


@contextlib.contextmanager
def demo_agents(runtime: Runtime, *, url: str, count: int = 3) -> Iterator[list[SimAgent]]:
    """Provision ``count`` simulated devices and keep them connected to ``url`` meanwhile."""
    config = load_usp_config(runtime.settings)
    agents = make_agents(count, controller_id=config.controller_id)
    records = [FactoryRecord(a.endpoint_id, a.secret, a.claim_code) for a in agents]
    with runtime.sessions.begin() as session:
        import_records(
            session,
            records,
            key=installation_key(runtime.settings),
            now=runtime.clock.now(),
            log_n=SIM_HASH_LOG_N,
        )
    loop = asyncio.new_event_loop()
    stop = asyncio.Event()

    def run() -> None:
        asyncio.set_event_loop(loop)
        with contextlib.suppress(Exception):
            loop.run_until_complete(run_fleet(agents, WebSocketOptions(url), stop))
        loop.close()

    thread = threading.Thread(target=run, name="demo-agents", daemon=True)
    thread.start()
    try:
        yield agents
    finally:
        loop.call_soon_threadsafe(stop.set)
        thread.join(timeout=15)
