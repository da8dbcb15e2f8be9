"""A small HTTP "connected system" on loopback, started by a test: a newsletter service.

It verifies Doorstep's signature on every request (a wrong one is a 401), keeps
subscribers by e-mail, and does each erasure once per idempotency key (a
retried request with the same key is answered "done" again without erasing
twice; ``effective`` counts the real erasures per key); a ``withdraw`` unsubscribes
the addresses once per key (``withdrawn``).  ``mode`` makes it
misbehave: ``garbage`` (not JSON), ``slow`` (answers after ``delay`` seconds),
``die`` (drops the connection without answering), ``error`` (500), ``accepted``
(answers later: ``status`` then says done), ``redirect`` (302 elsewhere).
``fail_next`` misbehaves that many times, then behaves.
"""

from __future__ import annotations

import contextlib
import json
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from doorstep.privacy.connectors import signing


@dataclass
class Newsletter:
    """The service's state and behaviour (read and changed by the test)."""

    secret: str
    subscribers: dict[str, dict[str, Any]] = field(default_factory=dict)
    mode: str = "ok"
    fail_next: int | None = None
    delay: float = 0.0
    calls: list[tuple[str, str]] = field(default_factory=list)
    #: Real erasures per e-mail address (a subscriber erased twice would count 2).
    effective: Counter[str] = field(default_factory=Counter)
    #: Rows erased under each idempotency key (the first request with it).
    erased: dict[str, int] = field(default_factory=dict)
    ids: dict[str, dict[str, list[str]]] = field(default_factory=dict)
    #: Addresses unsubscribed under each idempotency key of a withdrawal (the first request).
    withdrawn: dict[str, list[str]] = field(default_factory=dict)
    accepted: dict[str, str] = field(default_factory=dict)
    bad_signatures: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def misbehaves(self) -> str:
        with self.lock:
            if self.mode == "ok":
                return "ok"
            if self.fail_next is None:
                return self.mode
            if self.fail_next > 0:
                self.fail_next -= 1
                return self.mode
            return "ok"

    def answer(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        key = str(body.get("idempotency_key"))
        with self.lock:
            if path == "status":
                operation = self.accepted.pop(key, None)
                if operation is None:
                    return {"status": "accepted"}
                return self._do(operation, key, self.ids.get(key, {}))
            self.ids[key] = body.get("identifiers", {})
            return self._do(path, key, body.get("identifiers", {}))

    def _do(self, operation: str, key: str, ids: dict[str, list[str]]) -> dict[str, Any]:
        emails = ids.get("email", [])
        found = [self.subscribers[e] for e in emails if e in self.subscribers]
        evidence = f"NL-{key[:8]}"
        if operation == "access":
            if not found:
                return {"status": "not_found"}
            data = {
                "subscriber.email": [item["email"] for item in found],
                "subscriber.opens": [item["opens"] for item in found],
            }
            return {"status": "done", "rows": len(found), "data": data, "evidence": evidence}
        if operation == "withdraw":  # unsubscribe, once per key
            if key not in self.withdrawn:
                self.withdrawn[key] = [e for e in emails if e in self.subscribers]
                for email in self.withdrawn[key]:
                    self.subscribers[email]["subscribed"] = False
            rows = len(self.withdrawn[key])
            return {"status": "done" if rows else "not_found", "rows": rows, "evidence": evidence}
        if key not in self.erased:  # each idempotency key erases once
            self.erased[key] = len(found)
            for email in emails:
                if self.subscribers.pop(email, None) is not None:
                    self.effective[email] += 1
        rows = self.erased[key]
        return {"status": "done" if rows else "not_found", "rows": rows, "evidence": evidence}


def _handler(state: Newsletter) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: object) -> None:  # quiet
            return

        def do_POST(self) -> None:
            raw = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            key = self.headers.get(signing.KEY, "")
            ok = signing.verify(
                state.secret,
                timestamp=self.headers.get(signing.TIMESTAMP, ""),
                key=key,
                given=self.headers.get(signing.SIGNATURE, ""),
                body=raw,
                now=int(self.headers.get(signing.TIMESTAMP, "0") or 0),
            )
            path = self.path.strip("/")
            with state.lock:
                state.calls.append((path, key))
            if not ok:
                state.bad_signatures += 1
                self._send(401, b'{"error": "signature"}')
                return
            how = state.misbehaves()
            if how == "die":
                self.close_connection = True
                self.connection.close()
                return
            if how == "slow":
                time.sleep(state.delay)
            if how == "garbage":
                self._send(200, b"<html>surprise</html>")
                return
            if how == "error":
                self._send(500, b"{}")
                return
            if how == "redirect":
                self.send_response(302)
                self.send_header("Location", "http://example.org/elsewhere")
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            body = json.loads(raw)
            if how == "accepted" and path != "status":
                with state.lock:
                    state.accepted[str(body["idempotency_key"])] = path
                    state.ids[str(body["idempotency_key"])] = body.get("identifiers", {})
                self._send(202, b'{"status": "accepted"}')
                return
            self._send(200, json.dumps(state.answer(path, body)).encode())

        def _send(self, code: int, payload: bytes) -> None:
            self.send_response(code)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            with contextlib.suppress(OSError):  # the client gave up waiting
                self.wfile.write(payload)

    return Handler


class Service:
    """The running service: ``url`` (ends with ``/``) and its ``state``."""

    def __init__(self, state: Newsletter) -> None:
        self.state = state
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(state))
        self._server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}/"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop serving."""
        self._server.shutdown()
        self._server.server_close()
