"""``GET /metrics`` of ``serve`` and the ``--metrics-port`` server of the worker.

:func:`install` adds the route to the app (left out of the OpenAPI description:
it is for Prometheus, not for the app's clients).  It answers the Prometheus text
format (version 0.0.4) when ``metrics_enabled``; otherwise it is a 404 problem.
With ``metrics_token`` set, a request without that bearer token is a 401 problem
and learns nothing.  The route is a plain ``def``: the database gauges are read
in the thread pool, never on the event loop.

:func:`start_process_metrics` serves the same exposition from a thread of a
process that has no HTTP app (``doorstep worker --metrics-port``).
"""

from __future__ import annotations

from fastapi import APIRouter, FastAPI, HTTPException, Request, Response
from prometheus_client.exposition import CONTENT_TYPE_PLAIN_0_0_4, generate_latest

from doorstep.core.metrics_http import MetricsServer, bearer_allows, start_metrics_server
from doorstep.core.runtime import Runtime
from doorstep.metrics.collector import DatabaseCollector, Exposition

PATH = "/metrics"

router = APIRouter()


@router.get(PATH, include_in_schema=False)
def metrics(request: Request) -> Response:
    """The process's metrics in the Prometheus text format."""
    runtime: Runtime = request.app.state.runtime
    settings = runtime.settings
    if not settings.metrics_enabled:
        raise HTTPException(status_code=404)
    if not bearer_allows(request.headers.get("authorization"), settings.metrics_token):
        raise HTTPException(
            status_code=401, headers={"WWW-Authenticate": 'Bearer realm="doorstep-metrics"'}
        )
    exposition: Exposition = request.app.state.metrics
    return Response(generate_latest(exposition), media_type=CONTENT_TYPE_PLAIN_0_0_4)


def install(app: FastAPI, runtime: Runtime) -> None:
    """Add ``GET /metrics`` to ``app``, with the database gauges of ``runtime``."""
    app.state.metrics = Exposition(DatabaseCollector(runtime))
    app.include_router(router)


def start_process_metrics(runtime: Runtime, port: int) -> MetricsServer:
    """Serve this process's metrics and the database gauges on ``metrics_bind:port``.

    Raises OSError when the port cannot be bound.
    """
    settings = runtime.settings
    return start_metrics_server(
        Exposition(DatabaseCollector(runtime)),
        host=str(settings.metrics_bind),
        port=port,
        token=settings.metrics_token,
    )
