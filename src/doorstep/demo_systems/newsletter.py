"""The newsletter service's state: subscribers, campaigns, opens, and the connector's answers.

A subscriber is known by a random id (used in links and pixels, never the
address).  Each holds two choices and their history (the service's consent
record): ``subscribed`` (the newsletter at all) and ``tracking`` (the open pixel).

* :meth:`Newsletter.send_campaign` mails subscribed subscribers only; the
  pixel is in a mail only when its subscriber allows tracking (CORP-2.5);
* :meth:`Newsletter.record_open` counts an open only for a subscribed subscriber
  who allows tracking; otherwise nothing is recorded (CORP-2.5, CORP-2.6);
* :meth:`Newsletter.answer` is what the HTTP connector is told for ``access``,
  ``erasure``, ``withdraw`` and ``status`` (:mod:`doorstep.privacy.connectors.http`):
  an erasure or a withdrawal is done once per idempotency key, and a repeated key
  gets the first answer.  A withdrawal (the subject withdrew the newsletter
  consent in Doorstep, or objected) unsubscribes the address and switches its
  open tracking off, kept in its history with channel ``doorstep`` (CORP-2.5).

Everything is in memory behind one lock: the demo's service forgets on Ctrl-C.
"""

from __future__ import annotations

import secrets
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from doorstep.core.clock import Clock, SystemClock

EMAIL = "subscriber.email"
OPENS = "subscriber.opens"
#: Operations done once per idempotency key (a repeated key gets the first answer).
_ONCE = ("erasure", "withdraw")


@dataclass
class Subscriber:
    """One subscriber; ``history`` is the consent record: (event, ISO instant, channel)."""

    id: str
    email: str
    subscribed: bool = True
    tracking: bool = True
    opens: list[str] = field(default_factory=list)
    history: list[tuple[str, str, str]] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class Mailing:
    """One mail of a campaign, as sent: to whom and its HTML (links and maybe a pixel)."""

    campaign: str
    subscriber: str
    to: str
    html: str


class Newsletter:
    """The service (see the module docstring); ``base_url`` is where its links point."""

    def __init__(
        self,
        secret: str,
        *,
        base_url: str = "",
        deliver: Callable[[Mailing], None] | None = None,
        clock: Clock | None = None,
    ) -> None:
        self.secret = secret
        self.clock = clock or SystemClock()
        self.base_url = base_url.rstrip("/")
        self.sent: list[Mailing] = []
        self._deliver = deliver
        self._lock = threading.Lock()
        self._by_id: dict[str, Subscriber] = {}
        self._answers: dict[str, dict[str, Any]] = {}

    def _now(self) -> str:
        return self.clock.now().isoformat()

    # --- subscribers and their choices ---------------------------------------------------

    def subscribe(self, email: str, *, tracking: bool = True, channel: str = "form") -> Subscriber:
        """Subscribe ``email`` (again, if it had unsubscribed); its subscriber."""
        with self._lock:
            found = self._find(email)
            if found is None:
                found = Subscriber(secrets.token_urlsafe(12), email)
                self._by_id[found.id] = found
            found.subscribed = True
            found.tracking = tracking
            found.history.append(("subscribed", self._now(), channel))
            if not tracking:
                found.history.append(("tracking_refused", self._now(), channel))
            return found

    def get(self, subscriber_id: str) -> Subscriber | None:
        """The subscriber with this id, or None."""
        with self._lock:
            return self._by_id.get(subscriber_id)

    def unsubscribe(self, subscriber_id: str, *, channel: str) -> bool:
        """Stop every mailing (and so its tracking); False for an unknown id."""
        return self.choose(subscriber_id, subscribed=False, channel=channel)

    def choose(
        self,
        subscriber_id: str,
        *,
        subscribed: bool | None = None,
        tracking: bool | None = None,
        channel: str,
    ) -> bool:
        """Record the subscriber's choices (the account setting); False for an unknown id."""
        with self._lock:
            found = self._by_id.get(subscriber_id)
            if found is None:
                return False
            if subscribed is not None and subscribed != found.subscribed:
                found.subscribed = subscribed
                found.history.append(
                    ("subscribed" if subscribed else "unsubscribed", self._now(), channel)
                )
            if tracking is not None and tracking != found.tracking:
                found.tracking = tracking
                found.history.append(
                    ("tracking_allowed" if tracking else "tracking_refused", self._now(), channel)
                )
            return True

    # --- campaigns and opens -------------------------------------------------------------

    def send_campaign(self, title: str) -> tuple[str, int]:
        """Mail ``title`` to every subscribed subscriber; (campaign id, mails sent)."""
        campaign = secrets.token_hex(6)
        with self._lock:
            mailings = [
                Mailing(campaign, item.id, item.email, self._html(title, campaign, item))
                for item in self._by_id.values()
                if item.subscribed
            ]
            self.sent.extend(mailings)
        for mailing in mailings:
            if self._deliver is not None:
                self._deliver(mailing)
        return campaign, len(mailings)

    def _html(self, title: str, campaign: str, item: Subscriber) -> str:
        base = self.base_url
        pixel = (
            f'<img src="{base}/pixel/{campaign}/{item.id}.gif" width="1" height="1" alt="">'
            if item.tracking
            else ""
        )
        return (
            f"<h1>{title}</h1><p>News from your router's cloud.</p>"
            f'<p><a href="{base}/unsubscribe/{item.id}">Unsubscribe</a> · '
            f'<a href="{base}/account/{item.id}">Your newsletter settings</a></p>{pixel}'
        )

    def record_open(self, campaign: str, subscriber_id: str) -> bool:
        """Count an open, only for a subscribed subscriber who allows tracking."""
        with self._lock:
            found = self._by_id.get(subscriber_id)
            if found is None or not found.subscribed or not found.tracking:
                return False
            found.opens.append(campaign)
            return True

    # --- the connector's calls -----------------------------------------------------------

    def _find(self, email: str) -> Subscriber | None:
        return next((item for item in self._by_id.values() if item.email == email), None)

    def answer(self, operation: str, key: str, identifiers: Mapping[str, Any]) -> dict[str, Any]:
        """The answer to a verified ``access``, ``erasure`` or ``status`` call under ``key``."""
        with self._lock:
            if operation == "status":
                return self._answers.get(key, {"status": "not_found"})
            if operation in _ONCE and key in self._answers:
                return self._answers[key]
            emails = [str(e) for e in identifiers.get("email", []) if isinstance(e, str)]
            found = [item for e in emails if (item := self._find(e)) is not None]
            answer: dict[str, Any]
            if not found:
                answer = {"status": "not_found", "rows": 0}
            elif operation == "access":
                answer = {
                    "status": "done",
                    "rows": len(found),
                    "data": {
                        EMAIL: [item.email for item in found],
                        OPENS: [len(item.opens) for item in found],
                    },
                }
            elif operation == "withdraw":
                for item in found:
                    self._withdraw(item)
                answer = {"status": "done", "rows": len(found)}
            else:
                for item in found:
                    del self._by_id[item.id]
                answer = {"status": "done", "rows": len(found)}
            answer["evidence"] = f"NL-{key[:32]}" if key else "NL"
            if operation in _ONCE:
                self._answers[key] = answer
            return answer

    def _withdraw(self, item: Subscriber) -> None:
        """Doorstep says the consent was withdrawn: no more mail, no more counted opens."""
        if item.subscribed:
            item.subscribed = False
            item.history.append(("unsubscribed", self._now(), "doorstep"))
        if item.tracking:
            item.tracking = False
            item.history.append(("tracking_refused", self._now(), "doorstep"))
