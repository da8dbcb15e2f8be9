"""The live server itself: its job worker, its devices area and a clean shutdown."""

from __future__ import annotations

import time
from collections.abc import Callable

import httpx
import pytest
import sqlalchemy as sa

from doorstep.core.runtime import Runtime
from tests.web.conftest import LiveServer, running


def _count(runtime: Runtime, query: str, **params: object) -> int:
    with runtime.engine.connect() as connection:
        return int(connection.execute(sa.text(query), params).scalar_one())


def _until(predicate: Callable[[], bool], timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "condition not reached in time"
        time.sleep(0.05)


WORKERS = "SELECT count(*) FROM procrastinate_workers"


def test_serves_with_a_job_worker_and_stops_cleanly(committed: Runtime) -> None:
    with running(committed) as server:
        assert server.url.startswith("http://127.0.0.1:")
        assert httpx.get(f"{server.url}/readyz", timeout=10).status_code == 200
        _until(lambda: _count(committed, WORKERS) == 1)  # the in-process worker registered
        with running(committed, worker=False) as second:
            assert second.url != server.url
            assert httpx.get(f"{second.url}/healthz", timeout=10).status_code == 200
            assert _count(committed, WORKERS) == 1
    # The worker unregistered on its way out, and nothing listens any more.
    assert _count(committed, WORKERS) == 0
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"{server.url}/healthz", timeout=5)


REGISTERED = "SELECT count(*) FROM device_registrations WHERE endpoint_id = :eid AND online"


def test_simulated_devices_onboard_over_the_websocket_mtp(
    serve_live: Callable[..., LiveServer],
) -> None:
    server = serve_live(devices=True)
    assert server.usp_config is not None
    assert server.devices.hooks is not None
    router, gateway = server.add_devices(2)
    with server.fleet([router, gateway]):
        # onboarded: the registration was stored before the NotifyResp went out
        for agent in (router, gateway):
            assert _count(server.runtime, REGISTERED, eid=agent.endpoint_id) == 1
        assert set(server.devices.hub.transport.sessions) == {
            router.endpoint_id,
            gateway.endpoint_id,
        }
    _until(lambda: _count(server.runtime, REGISTERED, eid=router.endpoint_id) == 0)
