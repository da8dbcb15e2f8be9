"""The ASGI application factory.

:func:`create_app` builds the FastAPI app for one :class:`Runtime`; with
``in_process_worker`` the app's lifespan also runs a job worker in the same event
loop (the demo's single-process mode).  Areas add their routers here.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import logging
from collections.abc import AsyncIterator

from fastapi import APIRouter, FastAPI

from doorstep import __version__
from doorstep.core import health
from doorstep.core.bodies import BodyRulesMiddleware
from doorstep.core.openapi import install_openapi
from doorstep.core.problems import install_problem_handlers
from doorstep.core.proxies import install as install_proxies
from doorstep.core.requestid import RequestIdMiddleware
from doorstep.core.runtime import Runtime
from doorstep.metrics import install as install_metrics
from doorstep.privacy.transfers.client import install_client_drift
from doorstep.wiring import build_services

log = logging.getLogger("doorstep.asgi")

#: Modules whose ``router`` (a FastAPI APIRouter) is mounted, when the module exists.
AREA_ROUTERS = (
    "doorstep.usp.mtp.websocket",
    "doorstep.accounts.api",
    "doorstep.devices.api",
    "doorstep.devices.fleet.wipe_api",
    "doorstep.devices.fleet.download",
    "doorstep.fleet_api.api",
    "doorstep.devices.broker.emqx",
    "doorstep.devices.broker.events",
    "doorstep.privacy.requests.api",
    "doorstep.privacy.requests.console",
    "doorstep.privacy.requests.holds_console",
    "doorstep.privacy.requests.systems.api",
    "doorstep.privacy.connectors.completions.api",
    "doorstep.privacy.connectors.withdrawals.api",
    "doorstep.privacy.incidents.console",
    "doorstep.privacy.requests.inquiries.api",
    "doorstep.staff.api",
    "doorstep.privacy.consent.api",
    "doorstep.privacy.changes.api",
    "doorstep.privacy.controls.api",
)


def area_routers() -> list[APIRouter]:
    """The routers of every area that has one, in ``AREA_ROUTERS`` order."""
    routers = []
    for name in AREA_ROUTERS:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            # Absent area (or its parent package): skip.  Anything else is a real error.
            if exc.name is None or not (name + ".").startswith(exc.name + "."):
                raise
            continue
        routers.append(module.router)
    return routers


def create_app(runtime: Runtime, *, in_process_worker: bool = False) -> FastAPI:
    """Build the ASGI app; nothing global, everything from ``runtime``."""

    @contextlib.asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        worker: asyncio.Task[None] | None = None
        if in_process_worker:
            from doorstep.jobs.worker import run_worker

            worker = asyncio.create_task(
                run_worker(runtime, install_signal_handlers=False, name="doorstep-inprocess")
            )
        try:
            yield
        finally:
            if worker is not None:
                worker.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await worker

    app = FastAPI(
        title="Doorstep",
        version=__version__,
        summary="Device cloud for home routers and gateways with an executable privacy policy.",
        lifespan=lifespan,
        docs_url=None,  # FastAPI's loads Swagger UI from a CDN: ours is web/api_docs.py
        redoc_url=None,
    )
    app.state.runtime = runtime
    app.state.services = build_services(runtime)
    install_problem_handlers(app)
    install_client_drift(app)  # counts undeclared body fields of refused API calls
    install_openapi(app)
    app.add_middleware(BodyRulesMiddleware)  # inside RequestIdMiddleware: its 413/415 have ids
    app.add_middleware(RequestIdMiddleware)
    app.include_router(health.router)
    install_metrics(app, runtime)  # GET /metrics, out of the OpenAPI description
    for router in area_routers():
        app.include_router(router)
    from doorstep.web.api_docs import install as install_api_docs
    from doorstep.web.mount import install as install_pages

    install_pages(app)
    install_api_docs(app)
    install_proxies(app, runtime.settings)  # last: the outermost middleware
    return app
