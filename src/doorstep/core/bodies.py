"""Request bodies: how large they may be and, on the API, what they must be.

:class:`BodyRulesMiddleware` refuses a body before anything reads it:

* larger than :data:`MAX_BODY_BYTES`: 413, at once when ``Content-Length`` says
  so, and otherwise as soon as the streamed (chunked) bytes pass the limit;
* on an API path (``/api/``), a body that is not ``application/json`` (or a
  ``+json`` type): 415.

Both are RFC 9457 problems; nothing of the body is parsed or kept.  We accept
that a page form larger than the limit gets the problem document too: no page
posts anything near it.
"""

from __future__ import annotations

from starlette.datastructures import Headers
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from doorstep.core.problems import problem_response

#: The largest request body accepted, in bytes (the largest real one, an avatar, is ~90 KB).
MAX_BODY_BYTES = 1024 * 1024
#: Paths whose bodies must be JSON.
JSON_PATHS = ("/api/",)


class BodyTooLargeError(HTTPException):
    """The streamed body passed :data:`MAX_BODY_BYTES` (raised while it is being read)."""

    def __init__(self, max_bytes: int) -> None:
        super().__init__(status_code=413, detail=f"The body is larger than {max_bytes} bytes.")


def _is_json(content_type: str) -> bool:
    media = content_type.split(";", 1)[0].strip().lower()
    kind, _, subtype = media.partition("/")
    return kind == "application" and (subtype == "json" or subtype.endswith("+json"))


class BodyRulesMiddleware:
    """ASGI middleware enforcing the body rules of the module docstring."""

    def __init__(self, app: ASGIApp, *, max_bytes: int = MAX_BODY_BYTES) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        length = headers.get("content-length")
        chunked = "chunked" in headers.get("transfer-encoding", "").lower()
        declared = int(length) if length is not None and length.isdigit() else None
        if declared is not None and declared > self.max_bytes:
            await self._refuse(scope, receive, send, 413)
            return
        has_body = chunked or bool(declared)
        path: str = scope.get("path", "")
        json_only = path.startswith(JSON_PATHS)
        if has_body and json_only and not _is_json(headers.get("content-type", "")):
            await self._refuse(scope, receive, send, 415)
            return
        received = 0

        async def counting_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    raise BodyTooLargeError(self.max_bytes)
            return message

        await self.app(scope, counting_receive, send)

    async def _refuse(self, scope: Scope, receive: Receive, send: Send, status: int) -> None:
        if status == 413:
            response = problem_response(
                status=413,
                code="content-too-large",
                title="Content too large",
                detail=f"The body is larger than {self.max_bytes} bytes.",
                max_bytes=self.max_bytes,
                headers={"Connection": "close"},
            )
        else:
            response = problem_response(
                status=415,
                code="unsupported-media-type",
                title="Unsupported media type",
                detail="The API reads JSON bodies only: send Content-Type: application/json.",
                headers={"Accept-Post": "application/json"},
            )
        await response(scope, receive, send)
