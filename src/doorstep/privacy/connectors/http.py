"""The HTTP connector: signed requests to a system's declared url, answers now or later.

For one task (its id is the idempotency key, the same on every retry) the
connector POSTs a signed JSON body (:mod:`.signing`) to the declared url only,
never following a redirect:

* ``<url>access`` and ``<url>erasure`` — ``{"idempotency_key", "operation",
  "identifiers": {kind: [values]}}`` (the kinds the system declares);
* ``<url>status`` — ``{"idempotency_key", "operation"}``: how an accepted
  request stands (polling);
* ``<url>withdraw`` — ``{"idempotency_key", "operation": "withdraw",
  "identifiers", "purposes": [keys]}``: the subject withdrew consent to (or
  objected to) those purposes; the system stops what they allowed (``done``:
  :attr:`~.base.Outcome.WITHDRAWN`).

The system answers (to these and in its signed callback) with JSON::

    {"status": "done" | "not_found" | "accepted" | "retained",
     "rows": 3, "data": {"<element>": [values]}, "evidence": "<reference>"}

``accepted`` means "later" (:attr:`~.base.Outcome.PENDING`: a callback or a poll
settles it), ``retained`` that the system keeps the data under a legal duty.
``data`` may name declared elements only.  Anything else — not JSON, another
shape, an undeclared element — is :class:`~.base.ConnectorGarbage`; a 4xx is
``refused``, a 5xx ``failed``, no connection ``unreachable``, no answer in the
system's ``timeout_seconds`` :class:`~.base.ConnectorTimeout`.  The secret is
never logged and errors name the system only.
"""

from __future__ import annotations

import functools
import json
import re
import ssl
from collections.abc import Callable, Mapping
from typing import Any

import httpx

from doorstep.privacy.connectors import signing
from doorstep.privacy.connectors.base import (
    Confirmation,
    ConnectorError,
    ConnectorGarbage,
    ConnectorTimeout,
    Identifiers,
    Outcome,
)
from doorstep.privacy.datamap.systems import ConnectedSystem

_STATUS = {
    "done": None,  # erased or exported, by the operation
    "not_found": Outcome.NOT_FOUND,
    "accepted": Outcome.PENDING,
    "retained": Outcome.RETAINED,
}
#: What ``done`` means for each operation.
_DONE = {"access": Outcome.EXPORTED, "erasure": Outcome.ERASED, "withdraw": Outcome.WITHDRAWN}
#: An evidence reference: an id, never free text.
_REFERENCE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.:-]{0,99}")
_MAX_BODY = 8 * 1024 * 1024


def parse_answer(system: ConnectedSystem, operation: str, raw: bytes) -> Confirmation:
    """A system's answer (response or callback body) as a Confirmation; garbage raises."""
    try:
        answer = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        raise ConnectorGarbage(f"system {system.key}: the answer is not JSON") from None
    if not isinstance(answer, dict) or answer.get("status") not in _STATUS:
        raise ConnectorGarbage(f"system {system.key}: the answer has no known status")
    rows = answer.get("rows", 0)
    data = answer.get("data", {})
    evidence = answer.get("evidence", "")
    if not isinstance(rows, int) or isinstance(rows, bool) or rows < 0:
        raise ConnectorGarbage(f"system {system.key}: rows is not a count")
    if not isinstance(evidence, str) or (evidence and not _REFERENCE.fullmatch(evidence)):
        raise ConnectorGarbage(f"system {system.key}: evidence is not a reference")
    if not isinstance(data, dict) or any(
        key not in system.elements or not isinstance(values, list) for key, values in data.items()
    ):
        raise ConnectorGarbage(f"system {system.key}: data names an undeclared element")
    outcome = _STATUS[answer["status"]]
    if outcome is None:
        outcome = _DONE.get(operation, Outcome.ERASED)
    if outcome is not Outcome.EXPORTED:
        data = {}
    return Confirmation(system.key, outcome, rows, data, evidence)


@functools.cache
def tls_context() -> ssl.SSLContext:
    """The system CAs' verifying context, built once per process.

    Building one loads the whole CA bundle (about 15 ms); a client per task would
    pay that for every subject.  An ``SSLContext`` is safe to share between threads.
    """
    return ssl.create_default_context()


def client_for(
    system: ConnectedSystem, transport: httpx.BaseTransport | None = None
) -> httpx.Client:
    """An HTTP client for ``system``: its timeout, no redirect, no proxy, keep-alive.

    Thread-safe; the connector pool (:mod:`.pool`) shares one per system and process,
    so tasks after the first reuse an open connection.
    """
    return httpx.Client(
        timeout=httpx.Timeout(system.timeout_seconds),
        follow_redirects=False,
        transport=transport,
        trust_env=False,  # no proxy from the environment: the declared url only
        verify=tls_context(),
    )


class HttpConnector:
    """The connector of one ``kind: http`` system for one task (see the module docstring).

    ``client``: a shared client (:func:`client_for`) that :meth:`close` leaves open;
    without one the connector makes its own and closes it.
    """

    def __init__(
        self,
        system: ConnectedSystem,
        *,
        secret: str,
        idempotency_key: str,
        now: Callable[[], int],
        transport: httpx.BaseTransport | None = None,
        client: httpx.Client | None = None,
    ) -> None:
        self.system = system
        self._secret = secret
        self._key = idempotency_key
        self._now = now
        self._owned = client is None
        self._client = client if client is not None else client_for(system, transport)

    def for_task(self, idempotency_key: str) -> HttpConnector:
        """The same system's connector for another task, on the same client (which stays
        this connector's to close)."""
        return HttpConnector(
            self.system,
            secret=self._secret,
            idempotency_key=idempotency_key,
            now=self._now,
            client=self._client,
        )

    def close(self) -> None:
        """Done with this task: release the connections unless the client is shared."""
        if self._owned:
            self._client.close()

    def _post(self, path: str, operation: str, body: Mapping[str, Any]) -> Confirmation:
        raw = json.dumps(body, sort_keys=True, ensure_ascii=False).encode("utf-8")
        url = self.system.url.rstrip("/") + "/" + path
        sent = signing.headers(self._secret, self._now(), self._key, raw)
        try:
            response = self._client.post(url, content=raw, headers=sent)
        except httpx.TimeoutException:
            raise ConnectorTimeout(f"system {self.system.key}: timed out") from None
        except httpx.HTTPError:
            raise ConnectorError(
                f"system {self.system.key}: unreachable", reason="unreachable"
            ) from None
        if response.status_code >= 500:
            raise ConnectorError(f"system {self.system.key}: failed", reason="failed")
        if response.status_code >= 300:
            raise ConnectorError(f"system {self.system.key}: refused", reason="refused")
        if len(response.content) > _MAX_BODY:
            raise ConnectorGarbage(f"system {self.system.key}: the answer is too large")
        return parse_answer(self.system, operation, response.content)

    def _ask(self, operation: str, identifiers: Identifiers) -> Confirmation:
        mine = identifiers.for_system(self.system)
        if not mine:
            return Confirmation(self.system.key, Outcome.NOT_FOUND)
        body = {
            "idempotency_key": self._key,
            "operation": operation,
            "identifiers": mine.as_json(),
        }
        return self._post(operation, operation, body)

    def find(self, identifiers: Identifiers) -> Confirmation:
        """Whether the system holds the subject (an access asked, its rows counted)."""
        found = self._ask("access", identifiers)
        if found.outcome is Outcome.EXPORTED:
            return Confirmation(self.system.key, Outcome.FOUND, found.rows)
        return found

    def export(self, identifiers: Identifiers) -> Confirmation:
        """The subject's declared elements, or PENDING when the system answers later."""
        return self._ask("access", identifiers)

    def erase(self, identifiers: Identifiers) -> Confirmation:
        """Ask the system to erase (idempotent under the task's key), or PENDING."""
        return self._ask("erasure", identifiers)

    def withdraw(self, identifiers: Identifiers, purposes: tuple[str, ...]) -> Confirmation:
        """Tell the system the subject withdrew consent to (or objected to) ``purposes``:
        it stops what they allowed (the newsletter, its open tracking).  WITHDRAWN, or
        NOT_FOUND; idempotent under the task's key."""
        mine = identifiers.for_system(self.system)
        if not mine:
            return Confirmation(self.system.key, Outcome.NOT_FOUND)
        body = {
            "idempotency_key": self._key,
            "operation": "withdraw",
            "identifiers": mine.as_json(),
            "purposes": list(purposes),
        }
        return self._post("withdraw", "withdraw", body)

    def status(self, operation: str) -> Confirmation:
        """How the task's accepted ``operation`` stands now (polling)."""
        body = {"idempotency_key": self._key, "operation": operation}
        return self._post("status", operation, body)
