"""The small HTTP server of ``--metrics-port``: Prometheus text for worker and controller.

:func:`start_metrics_server` serves ``GET /metrics`` (any path answers the same, as
prometheus_client's own server does) from a daemon thread, on the address of the
``metrics_bind`` setting (loopback by default).  With ``metrics_token`` set, a
request without ``Authorization: Bearer <token>`` gets 401 and no metrics; the
comparison takes constant time (:func:`bearer_allows`, which ``serve``'s
``/metrics`` uses too).  ``serve`` needs no server of its own: its ``/metrics`` is a
route of the app (:mod:`doorstep.metrics.endpoint`).
"""

from __future__ import annotations

import hmac
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from socketserver import ThreadingMixIn
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from prometheus_client import make_wsgi_app
from prometheus_client.registry import Collector
from pydantic import SecretStr

StartResponse = Callable[..., Any]
WsgiApp = Callable[[dict[str, Any], StartResponse], Iterable[bytes]]


def bearer_allows(authorization: str | None, token: SecretStr | None) -> bool:
    """Whether ``authorization`` (the header) carries ``token``; no token: everyone may read."""
    if token is None:
        return True
    scheme, _, given = (authorization or "").partition(" ")
    expected = token.get_secret_value().encode("utf-8")
    return scheme.lower() == "bearer" and hmac.compare_digest(
        given.strip().encode("utf-8"), expected
    )


def _guarded(app: WsgiApp, token: SecretStr | None) -> WsgiApp:
    def guarded(environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        if not bearer_allows(environ.get("HTTP_AUTHORIZATION"), token):
            start_response(
                "401 Unauthorized",
                [
                    ("Content-Type", "text/plain; charset=utf-8"),
                    ("WWW-Authenticate", 'Bearer realm="doorstep-metrics"'),
                ],
            )
            return [b"a bearer token is required\n"]
        return app(environ, start_response)

    return guarded


class _Server(ThreadingMixIn, WSGIServer):
    daemon_threads = True
    allow_reuse_address = True


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        """Scrapes are not logged (every few seconds, nothing to learn)."""


@dataclass
class MetricsServer:
    """A running metrics server; :meth:`close` stops it."""

    server: WSGIServer
    thread: threading.Thread

    @property
    def port(self) -> int:
        """The bound port (useful when 0 asked for any free one)."""
        return int(self.server.server_address[1])

    def close(self) -> None:
        """Stop serving and release the port."""
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)


def start_metrics_server(
    registry: Collector, *, host: str, port: int, token: SecretStr | None
) -> MetricsServer:
    """Serve ``registry`` on ``host:port`` from a daemon thread until :meth:`~MetricsServer.close`.

    Raises OSError when the port cannot be bound.
    """
    app = _guarded(make_wsgi_app(registry), token)
    server = make_server(host, port, app, _Server, handler_class=_QuietHandler)
    thread = threading.Thread(target=server.serve_forever, name="doorstep-metrics", daemon=True)
    thread.start()
    return MetricsServer(server, thread)
