"""The demo's mailbox: where ``doorstep demo`` delivers e-mail and SMS, shown at /demo/mailbox.

A newcomer signing up in the demo needs the codes the sign-up sends; the console
backends log ids only.  So ``doorstep demo`` (and nothing else) makes a
:class:`DemoMailbox` its process's e-mail, SMS and push adapter (:func:`install`)
and mounts its page (:func:`router`).  Messages hold personal data, so:

* they live in memory only, the newest :data:`CAPACITY`, and go when the demo stops;
* the page answers loopback clients only (anyone else gets 404) and is never cached;
* nothing here logs a message's address or text (delivery logs its id only).

It is never part of ``doorstep serve``: production has no mailbox.
"""

from __future__ import annotations

import html
import threading
from collections import deque
from dataclasses import dataclass
from datetime import datetime

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import HTMLResponse

from doorstep.notify.adapters import is_loopback
from doorstep.notify.messages import Email, Push, Sms

#: The page's path.
PATH = "/demo/mailbox"
#: Messages kept; older ones are dropped.
CAPACITY = 50


@dataclass(frozen=True, slots=True)
class Letter:
    """One delivered message as the mailbox shows it."""

    channel: str
    to: str
    subject: str
    text: str
    at: datetime | None


class DemoMailbox:
    """E-mail, SMS and push adapter that keeps the newest messages in memory.  Thread-safe."""

    outlet = f"kept in the demo mailbox ({PATH})"

    def __init__(self, capacity: int = CAPACITY) -> None:
        self._letters: deque[Letter] = deque(maxlen=capacity)
        self._lock = threading.Lock()

    def send(self, message: Email | Sms | Push) -> None:
        """Keep ``message`` (the oldest kept one goes when the mailbox is full)."""
        if isinstance(message, Email):
            letter = Letter("e-mail", message.to, message.subject, message.text, message.date)
        elif isinstance(message, Sms):
            letter = Letter("SMS", message.to, "", message.text, None)
        else:
            letter = Letter("push", "a device", message.title, message.body, None)
        with self._lock:
            self._letters.append(letter)

    def letters(self) -> list[Letter]:
        """The kept messages, newest first."""
        with self._lock:
            return list(reversed(self._letters))


def _render(letters: list[Letter]) -> str:
    items = "".join(
        "<article><h2>{channel} to {to}{subject}</h2><pre>{text}</pre></article>".format(
            channel=html.escape(letter.channel),
            to=html.escape(letter.to),
            subject=f": {html.escape(letter.subject)}" if letter.subject else "",
            text=html.escape(letter.text),
        )
        for letter in letters
    )
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        "<title>Demo mailbox</title></head><body><h1>Demo mailbox</h1>"
        "<p>What the demo delivered (newest first, at most "
        f"{CAPACITY}; reload for new ones). Only <code>doorstep demo</code> has this page, "
        "on this machine only; the messages go when the demo stops.</p>"
        f"{items or '<p>No messages yet.</p>'}</body></html>"
    )


def router(mailbox: DemoMailbox) -> APIRouter:
    """The page showing ``mailbox`` to loopback clients (404 for anyone else)."""
    pages = APIRouter(include_in_schema=False)

    @pages.get(PATH, response_class=HTMLResponse)
    def show(request: Request) -> HTMLResponse:
        client = request.client.host if request.client else ""
        if not is_loopback(client):
            raise HTTPException(status_code=404)
        return HTMLResponse(
            _render(mailbox.letters()),
            headers={"Cache-Control": "no-store", "X-Robots-Tag": "noindex"},
        )

    return pages
