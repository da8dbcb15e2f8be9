"""The request being handled: its id, in a context variable.

Set by :class:`doorstep.core.requestid.RequestIdMiddleware` for the length of one
HTTP request or WebSocket; read by problem documents and log lines.  Standard
library only, so every layer may read it.
"""

from __future__ import annotations

from contextvars import ContextVar, Token

_request_id: ContextVar[str | None] = ContextVar("doorstep_request_id", default=None)


def current_request_id() -> str | None:
    """The id of the request being handled, if any."""
    return _request_id.get()


def enter_request(request_id: str) -> Token[str | None]:
    """Make ``request_id`` current; pass the token to :func:`leave_request` afterwards."""
    return _request_id.set(request_id)


def leave_request(token: Token[str | None]) -> None:
    """Restore the request id that was current before :func:`enter_request`."""
    _request_id.reset(token)
