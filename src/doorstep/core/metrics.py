"""The counters and histograms code increments, one place for every area (decision 0043).

Every metric object lives here, low in the stack, so that any area can count
without importing the exposition above it (:mod:`doorstep.metrics` reads the
database gauges and serves the text).  They are registered on prometheus_client's
process-wide registry: each Doorstep process (``serve``, ``worker``, ``controller``)
is one Python process (``serve`` runs one uvicorn process, no ``--workers``), so a
plain registry is right: no multiprocess mode.

Labels are *names*, never values: route templates, HTTP methods from a fixed
set, status codes, USP message types, queue and task names, pack purposes,
elements (``table.column``), recipients and retention rules, and reason codes.
A name that the code was handed but the pack does not declare is counted as
``UNDECLARED``, so a caller's typo or a client's input can neither grow the
series without bound nor put text of its own into a label.  ``docs/metrics.md``
lists every metric.
"""

from __future__ import annotations

import weakref
from collections.abc import Iterator
from typing import Protocol

from prometheus_client import REGISTRY, Counter, Histogram, disable_created_metrics
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

#: Label of a name the pack does not declare (see the module docstring).
UNDECLARED = "<undeclared>"
#: Route label of a request no route matched (scanners, typos).
UNMATCHED = "<unmatched>"

# The ``*_created`` series double the output and no panel reads them.
disable_created_metrics()  # type: ignore[no-untyped-call]

_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})

HTTP_REQUESTS = Counter(
    "doorstep_http_requests",
    "HTTP requests answered, by method, route template and status code.",
    ["method", "route", "status"],
)
HTTP_DURATION = Histogram(
    "doorstep_http_request_duration_seconds",
    "Time from a request's arrival to the end of its answer, by method and route template.",
    ["method", "route"],
)
USP_ROUND_TRIP = Histogram(
    "doorstep_usp_request_duration_seconds",
    "Round trip of a USP request the controller sent and got an answer to, by message type.",
    ["msg_type"],
    buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0),
)
USP_TIMEOUTS = Counter(
    "doorstep_usp_request_timeouts",
    "USP requests that got no answer within their timeout, by message type.",
    ["msg_type"],
)
JOBS_FINISHED = Counter(
    "doorstep_jobs_finished",
    "Job runs this worker finished, by task and outcome (succeeded or failed).",
    ["task", "outcome"],
)
PURPOSE_REFUSALS = Counter(
    "doorstep_purpose_refusals",
    "Uses of personal data the purpose gate refused, by purpose, element and reason.",
    ["purpose", "element", "reason"],
)
SHARING_REFUSALS = Counter(
    "doorstep_sharing_refusals",
    "Flows to recipients the sharing gate refused, by recipient and reason.",
    ["recipient", "reason"],
)
TRANSFER_REFUSALS = Counter(
    "doorstep_transfer_refusals",
    "Flows across a border the transfer gate refused, by the missing ground.",
    ["reason"],
)
RETENTION_SWEPT = Counter(
    "doorstep_retention_rows_swept",
    "Rows retention sweeps deleted or anonymised (committed batches), by rule and action.",
    ["rule", "action"],
)


def method_label(method: str | None) -> str:
    """The method as a label: one of the standard ones, ``WS`` for a WebSocket, else ``OTHER``."""
    if method is None:
        return "WS"
    return method if method in _METHODS else "OTHER"


def observe_request(method: str | None, route: str, status: int, seconds: float) -> None:
    """Count one answered request; ``route`` is its template, never the raw path."""
    method = method_label(method)
    HTTP_REQUESTS.labels(method, route, str(status)).inc()
    HTTP_DURATION.labels(method, route).observe(seconds)


class ConnectedAgents(Protocol):
    """A controller that can tell how many agents are connected to it."""

    @property
    def connected(self) -> int:
        """Agents that connected to this process and have not left."""
        ...


class _AgentsCollector(Collector):
    """``doorstep_usp_agents_connected``: the sum over this process's live controllers."""

    def __init__(self) -> None:
        self._controllers: weakref.WeakSet[ConnectedAgents] = weakref.WeakSet()

    def track(self, controller: ConnectedAgents) -> None:
        self._controllers.add(controller)

    def collect(self) -> Iterator[Metric]:
        total = sum(controller.connected for controller in list(self._controllers))
        yield GaugeMetricFamily(
            "doorstep_usp_agents_connected",
            "USP agents connected to this process's controller (MQTT or WebSocket) now.",
            value=total,
        )


_AGENTS = _AgentsCollector()
REGISTRY.register(_AGENTS)


def track_agents(controller: ConnectedAgents) -> None:
    """Count ``controller``'s connected agents in this process's gauge while it lives."""
    _AGENTS.track(controller)
