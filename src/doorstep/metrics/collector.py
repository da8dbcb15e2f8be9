"""The database gauges at scrape time: one short read, cached, never per request.

:class:`DatabaseCollector` reads every gauge of :mod:`.readings` in one
transaction whose ``statement_timeout`` is ``metrics_query_timeout_ms``, and
reuses the result for ``metrics_cache_seconds``: scrapes from several
Prometheus servers, or a scrape of each of several processes, cost one read per
period.  When the database does not answer in time the scrape still succeeds
with ``doorstep_metrics_database_up 0`` and without the database gauges (stale
numbers would mislead), and the failure is logged by its type only.

:class:`Exposition` is what a process serves: prometheus_client's process-wide
registry (the counters of :mod:`doorstep.core.metrics`, the process and GC
collectors) plus, where given, the database gauges.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator

import sqlalchemy as sa
from prometheus_client import REGISTRY
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from doorstep.core.runtime import Runtime
from doorstep.metrics.readings import read_all

log = logging.getLogger("doorstep.metrics")

_TIMEOUT = sa.text("SELECT set_config('statement_timeout', :timeout, true)")


class DatabaseCollector(Collector):
    """The gauges only the database knows, read at most once per cache period."""

    def __init__(self, runtime: Runtime, *, monotonic: Callable[[], float] = time.monotonic):
        self.runtime = runtime
        self._monotonic = monotonic
        self._lock = threading.Lock()
        self._cached: list[Metric] | None = None
        self._read_at = 0.0
        self.reads = 0
        """How many times the database was read (the cache's effect is testable)."""

    def collect(self) -> Iterator[Metric]:
        """The cached families, refreshed first when older than the cache period."""
        with self._lock:
            ttl = self.runtime.settings.metrics_cache_seconds
            if self._cached is None or self._monotonic() - self._read_at >= ttl:
                self._cached = self._read()
                self._read_at = self._monotonic()
            cached = self._cached
        yield from cached

    def _read(self) -> list[Metric]:
        settings = self.runtime.settings
        started = self._monotonic()
        self.reads += 1
        families: list[Metric] = []
        up = 1
        try:
            with self.runtime.sessions() as session:
                session.execute(_TIMEOUT, {"timeout": str(settings.metrics_query_timeout_ms)})
                families.extend(
                    read_all(
                        session,
                        self.runtime.clock.now(),
                        deadline_days=settings.metrics_deadline_days,
                    )
                )
                session.rollback()  # read only; also ends the transaction-local timeout
        except sa.exc.SQLAlchemyError as exc:
            log.warning("metrics: the database gauges could not be read (%s)", type(exc).__name__)
            families, up = [], 0
        families.append(
            GaugeMetricFamily(
                "doorstep_metrics_database_up",
                "1 when the last read of the database gauges succeeded, else 0.",
                value=up,
            )
        )
        families.append(
            GaugeMetricFamily(
                "doorstep_metrics_database_read_seconds",
                "How long the last read of the database gauges took.",
                value=self._monotonic() - started,
            )
        )
        return families


class Exposition(Collector):
    """Everything a process serves: the process-wide registry, then the database gauges."""

    def __init__(self, database: Collector | None = None, *, base: Collector = REGISTRY) -> None:
        self.database = database
        self.base = base

    def collect(self) -> Iterator[Metric]:
        """The process's metrics, then the database gauges (if any)."""
        yield from self.base.collect()
        if self.database is not None:
            yield from self.database.collect()
