"""Who the client is: forwarded headers are believed only from configured proxies.

The one place where a request's client address and scheme are derived.  With
``trusted_proxies`` empty (the default) they are the TCP peer's and every
``X-Forwarded-For``/``X-Forwarded-Proto`` header is ignored, loopback peers
included: a header is something any client can send, so trusting it from an
unlisted peer would let one client rotate addresses past the per-address rate
limits.  With proxies listed, a request whose peer is one of them takes its client
address from ``X-Forwarded-For`` (the right-most entry that is not itself a listed
proxy) and its scheme from ``X-Forwarded-Proto`` (so cookies are ``Secure`` behind
a TLS-terminating proxy); requests from any other peer keep the peer's.

``doorstep serve`` and the demo switch uvicorn's own proxy-header handling off
(it trusts loopback by default); :func:`install` is what reads the headers, so any
ASGI server behaves the same.  Everything that needs the address — rate limits,
audit — reads it with :func:`client_address`.
"""

from __future__ import annotations

import ipaddress
from typing import Any

from fastapi import FastAPI
from starlette.requests import HTTPConnection
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

from doorstep.core.settings import Settings


def install(app: FastAPI, settings: Settings) -> None:
    """Let ``app`` take client address and scheme from ``settings.trusted_proxies`` only.

    Call it after every other middleware is added: the last one added runs first,
    so everything else already sees the derived address.
    """
    if settings.trusted_proxies:
        trusted = [str(network) for network in settings.trusted_proxies]
        app.add_middleware(_PeerKeepingProxyHeaders, trusted_hosts=trusted)


#: Where :class:`_PeerKeepingProxyHeaders` keeps the TCP peer's address in the scope.
PEER_KEY = "doorstep.peer"


class _PeerKeepingProxyHeaders(ProxyHeadersMiddleware):
    """uvicorn's middleware, keeping the TCP peer's address before it rewrites the client."""

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] in ("http", "websocket") and scope.get("client"):
            scope[PEER_KEY] = scope["client"][0]
        await super().__call__(scope, receive, send)


def from_trusted_proxy(connection: HTTPConnection, settings: Settings) -> bool:
    """Whether the TCP peer of ``connection`` is one of ``settings.trusted_proxies``.

    What lets a proxy's other headers be believed (e.g. a verified client certificate,
    decision 0029); always False with the list empty.
    """
    peer = connection.scope.get(PEER_KEY)
    if not settings.trusted_proxies or not isinstance(peer, str):
        return False
    try:
        address = ipaddress.ip_address(peer)
    except ValueError:
        return False
    return any(address in network for network in settings.trusted_proxies)


def client_address(connection: HTTPConnection) -> str | None:
    """The client's address as :func:`install` derived it (None when the server gives none)."""
    return connection.client.host if connection.client else None
