"""Audit of refused devices and dropped Records, without blocking the event loop.

An Endpoint ID is not written as such: ``os::`` and ``ops::`` IDs embed the serial
number, which is often the WAN MAC, and clause CPE-IV.2.a asks for identifiers to be
pseudonymised with a keyed hash before they reach logs.  :func:`endpoint_ref` gives
``ep:<24 hex>``, an HMAC-SHA256 of the ID under the installation's secret key: stable
(an operator with the key can find a device's events) and useless without the key.

:class:`RuntimeAuditSink` queues events and writes them from one background task,
each in its own transaction (``runtime.sessions.begin()``) on a worker thread, so a
slow database never stalls the MTP.  The same (reason, endpoint) is recorded at most
once per ``repeat_seconds``; the repeats are counted in the next event's
``suppressed``.  We accept losing the exact count beyond the bounded queue because a
flood of garbage must not become a flood of audit rows.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import logging
import re
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Protocol

from doorstep.core.runtime import Runtime
from doorstep.usp.certificates import REASONS as CERTIFICATE_REASONS

log = logging.getLogger("doorstep.usp.audit")

ACTOR = "system:usp-controller"
REFUSED_ENDPOINT = "usp.endpoint_refused"
"""Action: a device was refused as unknown or with wrong credentials."""
DROPPED_RECORD = "usp.record_dropped"
"""Action: a Record was dropped (garbage, oversized, wrong recipient, wrong identity)."""
REFUSED_PATH = "usp.path_refused"
"""Action: a request was not sent: it named a path its purpose does not declare."""

_ENDPOINT_REASONS = frozenset(
    {"unknown_endpoint", "bad_credentials", "no_credentials"}
    | set(CERTIFICATE_REASONS)  # a refused client certificate (decision 0029)
)


def endpoint_ref(endpoint_id: str, key: bytes) -> str:
    """``ep:<24 hex>``: keyed hash of an Endpoint ID, for logs and audit details."""
    digest = hmac.new(key, endpoint_id.encode("utf-8"), hashlib.sha256).hexdigest()
    return "ep:" + digest[:24]


_PATH_MARKS = (
    ("[…]", ":search"),
    ("{i}", ":i"),
    ("*", ":any"),
    ("()", ":command"),
    ("!", ":event"),
)
_NOT_NAME = re.compile(r"[^A-Za-z0-9_.:-]")


def audit_path(path: str) -> str:
    """A path's shape in the audit trail's alphabet (``[A-Za-z0-9_.:-]``, 128 at most).

    Wildcards, search expressions, commands and events become ``:any``, ``:search``,
    ``:i``, ``:command`` and ``:event`` (TR-181 names hold no ``:``), so that
    ``Device.Hosts.Host.*.HostName`` is written as ``Device.Hosts.Host.:any.HostName``
    instead of being refused by the trail; anything else outside it becomes ``-``.
    """
    for mark, name in _PATH_MARKS:
        path = path.replace(mark, name)
    return _NOT_NAME.sub("-", path)[:128]


@dataclass(frozen=True, slots=True)
class Refusal:
    """One refusal to audit; ``endpoint`` is the raw id (hashed before writing)."""

    reason: str
    endpoint: str | None
    mtp: str
    usp_code: int | None = None
    purpose: str | None = None
    """For a refused path: the purpose the request named."""
    path: str | None = None
    """For a refused path: its shape (search expressions replaced, never a value)."""


class AuditSink(Protocol):
    """Where the controller reports refusals; must not block."""

    def refused(self, refusal: Refusal) -> None:
        """Note ``refusal`` (queued; written later)."""
        ...


class NullAuditSink:
    """Keeps refusals in memory (tests, the simulator); writes nothing."""

    def __init__(self) -> None:
        self.events: list[Refusal] = []

    def refused(self, refusal: Refusal) -> None:
        """Remember ``refusal`` (bounded to the last 1000)."""
        self.events.append(refusal)
        del self.events[:-1000]


class RuntimeAuditSink:
    """Writes refusals to the audit trail of ``runtime``'s database."""

    def __init__(
        self, runtime: Runtime, *, repeat_seconds: float = 60.0, max_queue: int = 1000
    ) -> None:
        self._runtime = runtime
        self._key = runtime.settings.secret_key.get_secret_value().encode("utf-8")
        self._repeat = repeat_seconds
        self._queue: asyncio.Queue[Mapping[str, str | int | bool | None]] = asyncio.Queue(max_queue)
        self._last: dict[tuple[str, str | None], float] = {}
        self._suppressed: dict[tuple[str, str | None], int] = {}
        self._task: asyncio.Task[None] | None = None
        self.written = 0

    def ref(self, endpoint_id: str) -> str:
        """The keyed reference of ``endpoint_id`` (what the audit details hold)."""
        return endpoint_ref(endpoint_id, self._key)

    def refused(self, refusal: Refusal) -> None:
        """Queue ``refusal`` unless the same one was recorded within the repeat period."""
        ref = self.ref(refusal.endpoint) if refusal.endpoint else None
        key = (refusal.reason + "|" + (refusal.purpose or "") + "|" + (refusal.path or ""), ref)
        now = time.monotonic()
        last = self._last.get(key)
        if last is not None and now - last < self._repeat:
            self._suppressed[key] = self._suppressed.get(key, 0) + 1
            return
        if len(self._last) > 10_000:
            self._last.clear()
        self._last[key] = now
        details: dict[str, str | int | bool | None] = {
            "reason": refusal.reason,
            **(
                {"purpose": refusal.purpose or None, "path": audit_path(refusal.path)}
                if refusal.path
                else {}
            ),
            "endpoint": ref,
            "mtp": refusal.mtp,
            "suppressed": self._suppressed.pop(key, 0),
        }
        if refusal.usp_code is not None:
            details["usp_code"] = refusal.usp_code
        try:
            self._queue.put_nowait(details)
        except asyncio.QueueFull:
            log.warning("usp audit queue full; refusal not recorded", extra={"reason": key[0]})
            return
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(self._drain_forever())

    async def drain(self) -> None:
        """Wait until every queued refusal is written."""
        await self._queue.join()

    async def aclose(self) -> None:
        """Write what is queued, then stop the background task."""
        if self._task is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._queue.join(), timeout=10)
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _drain_forever(self) -> None:
        while True:
            details = await self._queue.get()
            try:
                await asyncio.to_thread(self._write, details)
                self.written += 1
            except Exception:
                log.exception("could not write a usp audit event")
            finally:
                self._queue.task_done()

    def _write(self, details: Mapping[str, str | int | bool | None]) -> None:
        from doorstep.audit.services import record

        reason = str(details["reason"])
        action = REFUSED_ENDPOINT if reason in _ENDPOINT_REASONS else DROPPED_RECORD
        if "path" in details:
            action = REFUSED_PATH
        purpose = details.get("purpose")
        with self._runtime.sessions.begin() as session:
            record(
                session,
                action=action,
                actor=ACTOR,
                outcome="refused",
                purpose=str(purpose) if purpose else None,
                details=details,
            )
