"""Prometheus metrics of a process: the database gauges and the ``/metrics`` exposition.

The counters and histograms that code increments live in :mod:`doorstep.core.metrics`,
low in the stack, so any area can count; this package sits just below the
composition root and reads, at scrape time, what only the database knows (job
queues, devices, fleet operations, request deadlines) from the areas below it
(:mod:`.readings`, cached and bounded by a statement timeout in :mod:`.collector`).
It serves the text on ``serve``'s ``GET /metrics`` (:mod:`.endpoint`) and on the
worker's ``--metrics-port``.  It imports the areas it reads and :mod:`doorstep.core`;
nothing below imports it.  See docs/metrics.md and decision 0043.
"""

from __future__ import annotations

from doorstep.metrics.collector import DatabaseCollector, Exposition
from doorstep.metrics.endpoint import install, start_process_metrics

__all__ = ["DatabaseCollector", "Exposition", "install", "start_process_metrics"]
