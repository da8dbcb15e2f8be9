"""A simulated agent's WebSocket side: the agent connects out to the controller.

``<url>?eid=<percent-encoded Endpoint ID>``, subprotocol ``v1.usp``, the device
secret as ``Authorization: Bearer`` (or, with ``send_secret`` false and a TLS context
holding the device's client certificate, no header at all: how a real agent's
WebSocket client authenticates); a WebSocketConnectRecord first, then one Record
per binary frame.  An abrupt end (:meth:`SimAgent.power_off`) drops the TCP
connection without a close frame.  Reconnects with a capped back-off (TR-369 suggests 5 s doubling;
the simulator starts shorter) and after Reboot().
"""

from __future__ import annotations

import asyncio
import ssl
from dataclasses import dataclass
from functools import partial
from urllib.parse import quote

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import WebSocketException
from websockets.typing import Subprotocol

from doorstep.usp._msg import Msg
from doorstep.usp.agent_sim._outbound import SendMsg
from doorstep.usp.agent_sim._reconnect import keep_connected
from doorstep.usp.agent_sim.agent import SimAgent
from doorstep.usp.records import encode_record, websocket_connect

SUBPROTOCOL = Subprotocol("v1.usp")


@dataclass(frozen=True, slots=True)
class WebSocketOptions:
    """Where the controller's WebSocket endpoint is."""

    url: str = "ws://127.0.0.1:8000/usp"
    reconnect_min: float = 0.5
    reconnect_max: float = 10.0
    max_size: int = 64 * 1024
    tls: ssl.SSLContext | None = None
    """For ``wss://``: the trust store, and the device's client certificate when it has one."""
    send_secret: bool = True
    """Send ``Authorization: Bearer <secret>``; false for certificate-only agents."""


async def run_websocket_agent(
    agent: SimAgent, options: WebSocketOptions, stop: asyncio.Event
) -> None:
    """Keep ``agent`` connected until ``stop`` is set."""
    await keep_connected(
        agent,
        stop,
        lambda: _session(agent, options, stop),
        errors=(OSError, WebSocketException, TimeoutError),
        reconnect_min=options.reconnect_min,
        reconnect_max=options.reconnect_max,
    )


async def _session(agent: SimAgent, options: WebSocketOptions, stop: asyncio.Event) -> None:
    separator = "&" if "?" in options.url else "?"
    url = f"{options.url}{separator}eid={quote(agent.endpoint_id, safe='-._~')}"
    headers = {"Authorization": f"Bearer {agent.secret}"} if options.send_secret else {}
    async with connect(
        url,
        ssl=options.tls,
        subprotocols=[SUBPROTOCOL],
        additional_headers=headers,
        proxy=None,
        max_size=options.max_size,
        open_timeout=10,
    ) as websocket:
        if websocket.subprotocol != SUBPROTOCOL:  # R-WS.12: do not proceed without it
            return

        async def send(msg: Msg) -> None:
            await websocket.send(agent.encode(msg))

        hello = websocket_connect(to_id=agent.controller_id, from_id=agent.endpoint_id)
        await websocket.send(encode_record(hello))
        agent.session_started(send)
        reader = asyncio.create_task(_read(agent, websocket, send))
        ends = [reader, asyncio.create_task(agent.reboot.wait()), asyncio.create_task(stop.wait())]
        try:
            await asyncio.wait(ends, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in ends:
                task.cancel()
            await asyncio.gather(*ends, return_exceptions=True)
            if agent.abrupt:
                websocket.transport.abort()


async def _read(agent: SimAgent, websocket: ClientConnection, send: SendMsg) -> None:
    async for frame in websocket:
        if isinstance(frame, str):
            continue
        answer = agent.handle_record(frame, send)
        if answer is None:
            continue
        if agent.timing.answer > 0:  # a slow device: carried out now, answered later
            agent.later(agent.delay(agent.timing.answer), partial(send, answer))
        else:
            await websocket.send(agent.encode(answer))
