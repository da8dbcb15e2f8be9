"""The newsletter service over HTTP on loopback (:class:`NewsletterServer`).

Routes (``sid`` is a subscriber's random id, as in the links of each mail):

=====================================  ===============================================
``POST /access`` ``/erasure``           the HTTP connector's signed calls
``POST /status`` ``/withdraw``          (:mod:`doorstep.privacy.connectors.signing`);
                                        a bad or stale signature is a 401
``POST /campaigns``                     send a campaign (signed the same way):
                                        ``{"title"}`` -> ``{"campaign", "recipients"}``
``POST /subscribe``                     ``{"email", "tracking"}`` -> ``{"id"}``
``GET|POST /unsubscribe/<sid>``         the unsubscribe link (a page; POST does it,
                                        RFC 8058 one-click)
``GET|POST /account/<sid>``             the account setting: ``newsletter`` and
                                        ``tracking``, each ``on`` or ``off``
``GET /pixel/<campaign>/<sid>.gif``     the open pixel: always the same image;
                                        an open is recorded only when allowed
=====================================  ===============================================

Bad input is a 400 (or 404 for an unknown subscriber) and changes nothing.  The
server logs nothing: its requests carry subscribers' ids and addresses.
"""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any
from urllib.parse import parse_qs

from doorstep.demo_systems.newsletter import Newsletter
from doorstep.privacy.connectors import signing

#: A transparent one-pixel GIF.
PIXEL = bytes.fromhex(
    "47494638396101000100800000000000ffffff21f90401000000002c00000000010001000002024401003b"
)
_MAX_BODY = 64 * 1024
_CONNECTOR = ("access", "erasure", "status", "withdraw")


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    #: Keep-alive, as a real service answers: the connector's pooled client reuses one
    #: connection for many calls.  An idle connection is dropped after ``timeout`` s.
    protocol_version = "HTTP/1.1"
    timeout = 30
    #: Headers and body leave in two writes: without this, the client's delayed ACK
    #: holds every answer on a kept-alive connection for 40 ms.
    disable_nagle_algorithm = True

    def log_message(self, *args: object) -> None:  # ids and addresses: never logged
        return

    # --- plumbing ------------------------------------------------------------------------

    def _send(self, code: int, body: bytes, content_type: str = "application/json") -> None:
        self.send_response(code)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        self.wfile.write(body)

    def _json(self, code: int, payload: dict[str, Any]) -> None:
        self._send(code, json.dumps(payload).encode())

    def _page(self, code: int, text: str) -> None:
        self._send(code, f"<!doctype html><p>{text}</p>".encode(), "text/html; charset=utf-8")

    def _body(self) -> bytes | None:
        if self.headers.get("Transfer-Encoding"):
            self.close_connection = True  # a body not read must not be taken for a request
        try:
            length = int(self.headers.get("Content-Length", "0"))
        except ValueError:
            self.close_connection = True
            return None
        if not 0 <= length <= _MAX_BODY:
            self.close_connection = True
            return None
        return self.rfile.read(length)

    def _signed(self, raw: bytes) -> bool:
        return signing.verify(
            self.server.newsletter.secret,
            timestamp=self.headers.get(signing.TIMESTAMP, ""),
            key=self.headers.get(signing.KEY, ""),
            given=self.headers.get(signing.SIGNATURE, ""),
            body=raw,
            now=int(time.time()),
        )

    # --- routes --------------------------------------------------------------------------

    def do_GET(self) -> None:
        parts = self.path.split("?", 1)[0].strip("/").split("/")
        service = self.server.newsletter
        if len(parts) == 3 and parts[0] == "pixel" and parts[2].endswith(".gif"):
            service.record_open(parts[1], parts[2].removesuffix(".gif"))
            self._send(200, PIXEL, "image/gif")
            return
        if len(parts) == 2 and parts[0] in ("unsubscribe", "account"):
            found = service.get(parts[1])
            if found is None:
                self._page(404, "No such subscription.")
                return
            state = "subscribed" if found.subscribed else "unsubscribed"
            tracking = "counted" if found.tracking else "not counted"
            self._page(
                200,
                f"You are {state}; opens are {tracking}. "
                f'<form method="post"><input type="hidden" name="newsletter" value="off">'
                f"<button>Unsubscribe</button></form>",
            )
            return
        self._page(404, "Not found.")

    def do_POST(self) -> None:
        raw = self._body()
        if raw is None:
            self._json(400, {"error": "body"})
            return
        parts = self.path.split("?", 1)[0].strip("/").split("/")
        if len(parts) == 1 and parts[0] in (*_CONNECTOR, "campaigns"):
            self._connector(parts[0], raw)
        elif parts == ["subscribe"]:
            self._subscribe(raw)
        elif len(parts) == 2 and parts[0] in ("unsubscribe", "account"):
            self._choose(parts[0], parts[1], raw)
        else:
            self._json(404, {"error": "not found"})

    def _connector(self, operation: str, raw: bytes) -> None:
        if not self._signed(raw):
            self._json(401, {"error": "signature"})
            return
        try:
            body = json.loads(raw)
        except (ValueError, UnicodeDecodeError):
            body = None
        if not isinstance(body, dict):
            self._json(400, {"error": "json"})
            return
        service = self.server.newsletter
        if operation == "campaigns":
            title = body.get("title")
            if not isinstance(title, str) or not title:
                self._json(400, {"error": "title"})
                return
            campaign, recipients = service.send_campaign(title)
            self._json(200, {"campaign": campaign, "recipients": recipients})
            return
        identifiers = body.get("identifiers", {})
        if not isinstance(identifiers, dict):
            self._json(400, {"error": "identifiers"})
            return
        key = self.headers.get(signing.KEY, "")
        self._json(200, service.answer(operation, key, identifiers))

    def _subscribe(self, raw: bytes) -> None:
        try:
            body = json.loads(raw)
        except (ValueError, UnicodeDecodeError):
            body = None
        email = body.get("email") if isinstance(body, dict) else None
        tracking = body.get("tracking", True) if isinstance(body, dict) else None
        if not isinstance(email, str) or "@" not in email or not isinstance(tracking, bool):
            self._json(400, {"error": "email or tracking"})
            return
        found = self.server.newsletter.subscribe(email, tracking=tracking)
        self._json(200, {"id": found.id})

    def _choose(self, where: str, subscriber_id: str, raw: bytes) -> None:
        form = parse_qs(raw.decode("utf-8", "replace"))
        choices: dict[str, bool] = {}
        for name in ("newsletter", "tracking"):
            values = form.get(name)
            if values is None:
                continue
            if values not in (["on"], ["off"]):
                self._page(400, "Each setting is on or off.")
                return
            choices[name] = values == ["on"]
        if where == "unsubscribe":
            choices = {"newsletter": False}
        if not choices:
            self._page(400, "Nothing to change.")
            return
        changed = self.server.newsletter.choose(
            subscriber_id,
            subscribed=choices.get("newsletter"),
            tracking=choices.get("tracking"),
            channel="link" if where == "unsubscribe" else "account",
        )
        if not changed:
            self._page(404, "No such subscription.")
            return
        self._page(200, "Your newsletter settings are saved.")


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, address: tuple[str, int], newsletter: Newsletter) -> None:
        self.newsletter = newsletter
        super().__init__(address, _Handler)


class NewsletterServer:
    """Serve ``newsletter`` on ``host:port`` (0: any free port) in a thread, as a context.

    ``url`` is the base url once started (``http://127.0.0.1:<port>/``).  Binding
    to a port in use raises :class:`OSError` before anything else starts.
    """

    def __init__(self, newsletter: Newsletter, host: str = "127.0.0.1", port: int = 0) -> None:
        self.newsletter = newsletter
        self._server = _Server((host, port), newsletter)
        self.url = f"http://{host}:{self._server.server_address[1]}/"
        if not newsletter.base_url:
            newsletter.base_url = self.url.rstrip("/")
        self._thread = threading.Thread(
            target=self._server.serve_forever, name="newsletter", daemon=True
        )

    def __enter__(self) -> NewsletterServer:
        self._thread.start()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join()
