"""Structured logging with a guard that keeps personal data out.

Logs are JSON objects (production) or readable lines (development).  Whatever the
format, the *finished* line passes through :func:`scrub`, which replaces e-mail
addresses, phone numbers in international form, MAC addresses and non-loopback
IPv4 addresses with a placeholder.  Scrubbing the finished line (message,
arguments, extra fields and tracebacks alike) is the last line of defence; the
first is that code logs ids, not values.  We accept the small cost of a few
regular expressions per line because a log line is far rarer than a request.
"""

from __future__ import annotations

import json
import logging
import re
import sys
from datetime import UTC, datetime
from typing import Any, TextIO

from doorstep.core.request_scope import current_request_id
from doorstep.core.settings import LogFormat, Settings

_PATTERNS: tuple[tuple[re.Pattern[str], str], ...] = (
    # USP endpoint ids embed serial numbers (os::<OUI>-<serial>), e.g. in WebSocket URLs.
    (re.compile(r"(?i)(eid=)[^\s\"'&]+"), r"\1<endpoint>"),
    (
        re.compile(
            r"\b(?:os|oui|cid|pen|self|user|proto|uuid|imei|imeisv|ops)(?:::|%3A%3A)[\w.%:-]+"
        ),
        "<endpoint>",
    ),
    # Credentials in headers dumped by servers at debug level (device secrets, sessions).
    (
        re.compile(
            r"(?i)(\b(?:authorization|proxy-authorization|cookie|set-cookie)['\"]?\s*[:=,]\s*"
            r"(?:b?['\"])?)[^'\"\r\n)\]]+"
        ),
        r"\1<secret>",
    ),
    (re.compile(r"[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+"), "<email>"),
    (re.compile(r"(?<![\w+])\+\d[\d \-]{6,17}\d"), "<phone>"),
    (re.compile(r"\b(?:[0-9A-Fa-f]{2}[:-]){5}[0-9A-Fa-f]{2}\b"), "<mac>"),
    (
        re.compile(
            r"\b(?!127\.)(?!0\.0\.0\.0\b)(?:25[0-5]|2[0-4]\d|1?\d?\d)"
            r"(?:\.(?:25[0-5]|2[0-4]\d|1?\d?\d)){3}\b"
        ),
        "<ip>",
    ),
)

# Attributes every LogRecord has; anything else was passed with ``extra=``.
_RESERVED = set(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {
    "message",
    "asctime",
    "color_message",  # uvicorn's ANSI-coloured copy of the message
}


def scrub(text: str) -> str:
    """Replace anything that looks like personal data in ``text`` with a placeholder."""
    for pattern, placeholder in _PATTERNS:
        text = pattern.sub(placeholder, text)
    return text


class _GuardedFormatter(logging.Formatter):
    """Formats a record, then scrubs the finished line."""

    def __init__(self, fmt: LogFormat) -> None:
        super().__init__()
        self._fmt_kind = fmt

    def format(self, record: logging.LogRecord) -> str:
        message = record.getMessage()
        extra = {k: v for k, v in vars(record).items() if k not in _RESERVED}
        request_id = current_request_id()
        when = datetime.fromtimestamp(record.created, UTC)
        if self._fmt_kind is LogFormat.JSON:
            payload: dict[str, Any] = {
                "ts": when.isoformat(timespec="milliseconds"),
                "level": record.levelname.lower(),
                "logger": record.name,
                "msg": message,
            }
            if request_id:
                payload["request_id"] = request_id
            payload.update(extra)
            if record.exc_info:
                payload["exc"] = self.formatException(record.exc_info)
            line = json.dumps(payload, default=str, ensure_ascii=False)
        else:
            parts = [when.strftime("%H:%M:%S"), f"{record.levelname:<7}", record.name, message]
            if request_id:
                parts.append(f"[{request_id[:12]}]")
            if extra:
                parts.append(" ".join(f"{k}={v}" for k, v in extra.items()))
            line = " ".join(parts)
            if record.exc_info:
                line += "\n" + self.formatException(record.exc_info)
        return scrub(line)


def configure_logging(settings: Settings, stream: TextIO | None = None) -> None:
    """Send every logger through one guarded handler; idempotent.

    Uvicorn's own access log is switched off: :class:`RequestIdMiddleware`
    writes a line without client addresses or raw paths instead.
    """
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(_GuardedFormatter(settings.effective_log_format))
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(settings.log_level.upper())
    for name in ("uvicorn", "uvicorn.error", "procrastinate", "alembic"):
        logger = logging.getLogger(name)
        logger.handlers.clear()
        logger.propagate = True
    access = logging.getLogger("uvicorn.access")
    access.handlers.clear()
    access.propagate = False
    access.disabled = True
    # Procrastinate logs every job's deferral, start and end at INFO, each with the whole
    # job record: routine, so shown only at DEBUG (its own DEBUG lines never; warnings always).
    routine = logging.INFO if root.level <= logging.DEBUG else logging.WARNING
    logging.getLogger("procrastinate").setLevel(routine)
    # The WebSocket stacks dump whole handshakes (headers with device secrets) at debug.
    for name in ("websockets", "uvicorn.protocols", "uvicorn.protocols.websockets"):
        logging.getLogger(name).setLevel(max(root.level, logging.INFO))


def guarded_formatter(fmt: LogFormat) -> logging.Formatter:
    """The formatter :func:`configure_logging` installs (for tests and extra handlers)."""
    return _GuardedFormatter(fmt)
