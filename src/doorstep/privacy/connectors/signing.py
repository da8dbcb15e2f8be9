"""Signatures between Doorstep and an HTTP system: HMAC-SHA256 over timestamp, key and body.

Both directions use the system's secret (stored encrypted, :mod:`.credentials`):

* Doorstep's request to the system carries ``X-Doorstep-Timestamp`` (Unix
  seconds), ``X-Doorstep-Idempotency-Key`` (the task's id: the same on every
  retry, so the system does the work once) and ``X-Doorstep-Signature:
  v1=<hex>``, the HMAC of ``"<timestamp>.<key>." + body``;
* the system's signed callback carries the same three headers, signed the same
  way with the same secret; :func:`verify` refuses a wrong signature and a
  timestamp further than :data:`TOLERANCE_SECONDS` from now (a replay).
"""

from __future__ import annotations

import hashlib
import hmac

TIMESTAMP = "X-Doorstep-Timestamp"
KEY = "X-Doorstep-Idempotency-Key"
SIGNATURE = "X-Doorstep-Signature"
SCHEME = "v1"
TOLERANCE_SECONDS = 300


def signature(secret: str, timestamp: int, key: str, body: bytes) -> str:
    """The ``v1=<hex>`` signature of ``body`` sent at ``timestamp`` under idempotency ``key``."""
    message = f"{timestamp}.{key}.".encode() + body
    digest = hmac.new(secret.encode("utf-8"), message, hashlib.sha256).hexdigest()
    return f"{SCHEME}={digest}"


def headers(secret: str, timestamp: int, key: str, body: bytes) -> dict[str, str]:
    """The three headers of a signed message."""
    return {
        TIMESTAMP: str(timestamp),
        KEY: key,
        SIGNATURE: signature(secret, timestamp, key, body),
        "Content-Type": "application/json",
    }


def verify(secret: str, *, timestamp: str, key: str, given: str, body: bytes, now: int) -> bool:
    """Whether ``given`` signs ``body`` with ``secret`` and ``timestamp`` is fresh."""
    try:
        sent = int(timestamp)
    except ValueError:
        return False
    if abs(now - sent) > TOLERANCE_SECONDS:
        return False
    return hmac.compare_digest(signature(secret, sent, key, body), given)
