"""The WebSocket MTP, served by ``doorstep serve`` itself (so the demo needs no broker).

``include_router(router)`` adds ``GET /usp`` (WebSocket).  An agent connects to
``ws[s]://<host>/usp?eid=<its Endpoint ID>`` with subprotocol ``v1.usp`` (R-WS.9-12a)
and its own credentials on the upgrade: ``Authorization: Basic`` with the endpoint
id as user name and the device secret as password, or ``Authorization: Bearer
<device secret>``, or (with ``usp_client_ca_file`` set) a TLS client certificate
naming its endpoint id, from ``serve``'s own TLS or a trusted proxy
(:mod:`._identity`, decision 0029).  A presented certificate decides: a refused one
(expired, revoked, untrusted, naming another endpoint) is not rescued by a secret.
The upgrade is refused (HTTP 403, before any WebSocket frame) without ``v1.usp``,
without a valid ``eid``, for an unknown endpoint, a wrong secret or a refused
certificate, and each refusal is audited.

Each Record is one binary frame.  A text frame, or bytes that are not a usable
Record, close the session with 1003 (R-WS.16); Records that parse but are refused
(wrong recipient …) are dropped.  One session per endpoint (R-WS.4): a new session
replaces the old one.  uvicorn answers pings and sends its own.

The hub (controller, credential store, audit sink) lives on ``app.state`` and is built
on first use from ``app.state.runtime``; :func:`install` sets one up explicitly (the
device registry passes its database credential store and hooks there); :func:`hub_of`
gives API handlers the controller.  A request to an agent whose session another
``serve`` replica holds goes through the transport's :class:`SessionRelay` when one is
installed (the device domain's, over PostgreSQL: decision 0047), which also hears when
a session opens here (before its first Record is read) and ends (before the controller
hears of the departure); without one it fails with DeviceOfflineError.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

from fastapi import APIRouter, FastAPI, WebSocket
from starlette.websockets import WebSocketDisconnect

from doorstep.core.metrics import track_agents
from doorstep.usp.config import UspConfig, default_credentials, load_usp_config
from doorstep.usp.controller import (
    WEBSOCKET,
    AgentAddress,
    AuditSink,
    Controller,
    ControllerHooks,
    DeviceOfflineError,
    Origin,
    RuntimeAuditSink,
    Verdict,
)
from doorstep.usp.credentials import CredentialStore
from doorstep.usp.endpoint import is_valid_endpoint_id
from doorstep.usp.mtp._identity import CertificateIdentity

log = logging.getLogger("doorstep.usp.websocket")

PATH = "/usp"
SUBPROTOCOL = "v1.usp"
UNSUPPORTED_DATA = 1003
ADDRESS = AgentAddress(WEBSOCKET)
_STATE_KEY = "usp_websocket"

router = APIRouter()


@dataclass(eq=False)
class _Session:
    websocket: WebSocket
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)


class SessionRelay(Protocol):
    """Reaches the agents whose WebSocket session another replica holds (decision 0047)."""

    async def opened(self, endpoint_id: str) -> None:
        """This process holds the agent's session from now on; never raises."""
        ...

    async def closed(self, endpoint_id: str) -> None:
        """This process no longer holds the agent's session; never raises."""
        ...

    async def send(self, endpoint_id: str, data: bytes) -> None:
        """Deliver one encoded Record through the replica holding the agent's session.

        Raises DeviceOfflineError when no live replica holds it, MtpUnavailableError
        when the relay itself is down.
        """
        ...


class WebSocketTransport:
    """Sends Records to agents connected to this process, or through the relay."""

    name = WEBSOCKET

    def __init__(self, controller: Controller) -> None:
        self.sessions: dict[str, _Session] = {}
        self.relay: SessionRelay | None = None
        """Reaches sessions other replicas hold; None: only this process's."""
        controller.attach(self)

    def default_address(self, endpoint_id: str) -> AgentAddress | None:
        """None: a WebSocket agent is found by its session or by the device directory."""
        return None

    async def send(
        self, endpoint_id: str, address: AgentAddress, data: bytes, *, response: bool
    ) -> None:
        """One binary frame on the agent's session here, else through the relay."""
        if endpoint_id not in self.sessions and self.relay is not None:
            await self.relay.send(endpoint_id, data)
            return
        await self.send_here(endpoint_id, data)

    async def send_here(self, endpoint_id: str, data: bytes) -> None:
        """One binary frame on the agent's session in this process."""
        session = self.sessions.get(endpoint_id)
        if session is None:
            raise DeviceOfflineError("the device has no WebSocket session here")
        try:
            async with session.lock:
                await session.websocket.send_bytes(data)
        except (WebSocketDisconnect, RuntimeError, OSError):
            raise DeviceOfflineError("the device's WebSocket session closed") from None


class WebSocketHub:
    """The USP WebSocket side of one ``serve`` process."""

    def __init__(
        self,
        controller: Controller,
        credentials: CredentialStore,
        identity: CertificateIdentity | None = None,
    ) -> None:
        self.controller = controller
        self.credentials = credentials
        self.identity = identity
        self.transport = WebSocketTransport(controller)

    async def serve(self, websocket: WebSocket) -> None:
        """Authenticate the upgrade, then pump Records until the session ends."""
        endpoint_id = await self._admit(websocket)
        if endpoint_id is None:
            return
        await websocket.accept(subprotocol=SUBPROTOCOL)
        session = _Session(websocket)
        previous = self.transport.sessions.get(endpoint_id)
        self.transport.sessions[endpoint_id] = session
        self.controller.remember(endpoint_id, ADDRESS)
        if previous is not None:
            await _close_quietly(previous.websocket, 1000)
        origin = Origin(WEBSOCKET, endpoint_id, True, ADDRESS)
        try:
            if self.transport.relay is not None:  # before the first Record is read
                await self.transport.relay.opened(endpoint_id)
            while True:
                message = await websocket.receive()
                if message["type"] == "websocket.disconnect":
                    break
                data = message.get("bytes")
                if data is None:
                    self.controller.refuse("garbage", endpoint_id, origin, None)
                    await _close_quietly(websocket, UNSUPPORTED_DATA)
                    break
                verdict = await self.controller.receive(data, origin)
                if verdict is Verdict.UNUSABLE:
                    await _close_quietly(websocket, UNSUPPORTED_DATA)
                    break
        except WebSocketDisconnect:
            pass
        finally:
            if self.transport.sessions.get(endpoint_id) is session:
                del self.transport.sessions[endpoint_id]
                if self.transport.relay is not None:
                    await self.transport.relay.closed(endpoint_id)
                await self.controller.agent_disconnected(endpoint_id, ADDRESS)

    async def _admit(self, websocket: WebSocket) -> str | None:
        """The authenticated endpoint id, or None after refusing the upgrade (403)."""
        endpoint_id = websocket.query_params.get("eid", "")
        reason, named = await self._check(websocket, endpoint_id)
        if reason is None:
            return endpoint_id
        known_id = endpoint_id if is_valid_endpoint_id(endpoint_id) else named
        self.controller.refuse(reason, known_id, Origin(WEBSOCKET), None)
        await websocket.close(code=1008)  # before accept: uvicorn answers HTTP 403
        return None

    async def _check(self, websocket: WebSocket, endpoint_id: str) -> tuple[str | None, str | None]:
        """``(why the upgrade is refused or None, endpoint id a certificate names)``."""
        if SUBPROTOCOL not in websocket.scope.get("subprotocols", ()):
            return "no_subprotocol", None
        certificate = await self.identity.check(websocket) if self.identity else None
        if certificate is not None:
            # A presented certificate decides: a refused one is not rescued by a secret.
            if certificate.reason is not None:
                return certificate.reason, certificate.endpoint_id
            if not is_valid_endpoint_id(endpoint_id):
                return "invalid_endpoint_id", certificate.endpoint_id
            if certificate.endpoint_id != endpoint_id:
                return "identity_mismatch", None
            known = await self.credentials.lookup(endpoint_id) is not None
            return (None if known else "unknown_endpoint"), None
        return await self._check_secret(websocket, endpoint_id), None

    async def _check_secret(self, websocket: WebSocket, endpoint_id: str) -> str | None:
        """Why the per-device secret does not admit ``endpoint_id``, or None."""
        if not is_valid_endpoint_id(endpoint_id):
            return "invalid_endpoint_id"
        claimed, secret = _credentials(websocket.headers.get("authorization", ""))
        if claimed is not None and claimed != endpoint_id:
            return "identity_mismatch"
        if secret is None:
            return "no_credentials"
        verifier = await self.credentials.lookup(endpoint_id)
        if verifier is None:
            return "unknown_endpoint"
        verified = await asyncio.to_thread(verifier.verify, secret)
        return None if verified else "bad_credentials"


def _credentials(header: str) -> tuple[str | None, str | None]:
    """``(claimed endpoint id or None, secret or None)`` from an Authorization header."""
    scheme, _, value = header.strip().partition(" ")
    value = value.strip()
    if scheme.lower() == "bearer" and value:
        return None, value
    if scheme.lower() == "basic" and value:
        try:
            decoded = base64.b64decode(value, validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            return None, None
        # An Endpoint ID contains ':' itself, so the secret is after the last ':'.
        user, sep, secret = decoded.rpartition(":")
        return (user, secret) if sep and user and secret else (None, None)
    return None, None


async def _close_quietly(websocket: WebSocket, code: int) -> None:
    try:
        await websocket.close(code=code)
    except (RuntimeError, OSError, WebSocketDisconnect):
        return


def install(
    app: FastAPI,
    *,
    credentials: CredentialStore | None = None,
    hooks: ControllerHooks | None = None,
    audit: AuditSink | None = None,
    config: UspConfig | None = None,
) -> WebSocketHub:
    """Build the hub of ``app`` (call inside its event loop, e.g. in the lifespan)."""
    runtime = app.state.runtime
    config = config or load_usp_config(runtime.settings)
    if credentials is None:
        credentials = default_credentials(runtime.settings, config)
    key = runtime.settings.secret_key.get_secret_value().encode("utf-8")
    controller = Controller(
        config,
        credentials=credentials,
        hooks=hooks,
        audit=audit or RuntimeAuditSink(runtime, repeat_seconds=config.audit_repeat_seconds),
        secret_key=key,
    )
    track_agents(controller)  # doorstep_usp_agents_connected
    identity = CertificateIdentity.from_settings(runtime.settings, runtime.clock.now)
    hub = WebSocketHub(controller, credentials, identity)
    setattr(app.state, _STATE_KEY, hub)
    return hub


def report_tls_refusal(app: FastAPI) -> Callable[[str], None]:
    """What ``serve``'s TLS layer calls when it refuses a client certificate (no id known)."""

    def report(reason: str) -> None:
        hub_of(app).controller.refuse(reason, None, Origin(WEBSOCKET), None)

    return report


def hub_of(app: FastAPI) -> WebSocketHub:
    """The hub of ``app``, built with the defaults on first use."""
    hub = getattr(app.state, _STATE_KEY, None)
    return hub if isinstance(hub, WebSocketHub) else install(app)


@router.websocket(PATH)
async def usp_websocket(websocket: WebSocket) -> None:
    """USP agents connect here (see the module docstring)."""
    await hub_of(websocket.app).serve(websocket)
