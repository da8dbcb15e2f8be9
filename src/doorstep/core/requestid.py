"""Request ids: one per HTTP request, carried in a context variable and in logs.

An incoming ``X-Request-ID`` is accepted only if it looks like an id (so a client
cannot smuggle text into our logs); otherwise a new one is made.
"""

from __future__ import annotations

import re
import time
import uuid

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from doorstep.core.metrics import UNMATCHED, observe_request
from doorstep.core.problems import problem_response
from doorstep.core.request_scope import enter_request, leave_request

_SAFE_ID = re.compile(r"^[A-Za-z0-9._-]{8,64}$")
HEADER = "x-request-id"


class RequestIdMiddleware:
    """ASGI middleware: sets the request id, echoes it, and writes one access-log line.

    The access line names the route template (``/api/v1/devices/{device_id}``),
    never the raw path or query, which may carry personal data, and never the
    client address; the same template labels the request metrics
    (:func:`doorstep.core.metrics.observe_request`).
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        import logging

        self.log = logging.getLogger("doorstep.access")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in {"http", "websocket"}:
            await self.app(scope, receive, send)
            return
        incoming = dict(scope.get("headers") or []).get(HEADER.encode(), b"").decode("latin-1")
        request_id = incoming if _SAFE_ID.match(incoming) else uuid.uuid4().hex
        token = enter_request(request_id)
        started = time.perf_counter()
        status = 500
        response_started = False

        async def send_with_id(message: Message) -> None:
            nonlocal status, response_started
            if message["type"] == "http.response.start":
                response_started = True
                status = message["status"]
                headers = list(message.get("headers", []))
                headers.append((HEADER.encode(), request_id.encode()))
                message["headers"] = headers
            elif message["type"] == "websocket.accept":
                response_started = True
                status = 101
            elif message["type"] == "websocket.close" and not response_started:
                status = 403  # closed before accepting: the upgrade was refused
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        except Exception as exc:
            # Handled here, inside the request's context, so the 500 carries the
            # request id; the traceback goes to the guarded log, not to the client.
            self.log.error("unhandled error", exc_info=exc)
            if scope["type"] == "http" and not response_started:
                response = problem_response(
                    status=500, code="internal-error", title="Internal error"
                )
                await response(scope, receive, send_with_id)
        finally:
            route = scope.get("route")
            template = getattr(route, "path", None) or UNMATCHED
            elapsed = time.perf_counter() - started
            self.log.info(
                "%s %s %s %.1fms", scope.get("method", "WS"), template, status, elapsed * 1000
            )
            if scope["type"] == "http":  # a WebSocket's time is its whole session
                observe_request(scope.get("method"), template, status, elapsed)
            leave_request(token)
