"""A killed ``serve`` replica drops only its own devices, which come back through another.

Replica A is a real ``doorstep serve`` process holding the router's WebSocket session;
replica B is the app served in this test's event loop.  Requests go through B.  A is
killed (SIGKILL: no goodbye, no session closes): B answers 503 ``device-offline`` at
once, while the registry still says online, because A's listening connection is gone
from PostgreSQL; once A's lease is a lease overdue, B's sweep marks the router
offline; and when the router reconnects to B, requests work again (decision 0047).
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa

from doorstep.core.clock import SystemClock
from doorstep.core.database import make_session_factory
from doorstep.core.runtime import Runtime
from doorstep.devices.holders import APPLICATION_PREFIX
from doorstep.usp.agent_sim import WebSocketOptions
from doorstep.usp.config import UspConfig
from tests.conftest import database_url_of
from tests.devices.conftest import PREFIX, add_subscriber, bearer, devices_for, provision, served
from tests.usp_net.conftest import free_port, run
from tests.usp_net.helpers import fleet, until

ROOT = Path(__file__).resolve().parents[2]
LEASE = 3.0


@contextlib.contextmanager
def _replica(
    runtime: Runtime, data_dir: Path, log: Path
) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    """``doorstep serve`` in a process of its own: its base URL and the process."""
    port = free_port()
    env = {
        **os.environ,
        "DOORSTEP_ENV": "test",
        "DOORSTEP_DATABASE_URL": database_url_of(runtime.settings),
        "DOORSTEP_DATA_DIR": str(data_dir),
        "DOORSTEP_DEVICE_RELAY_LEASE_SECONDS": str(LEASE),
    }
    with log.open("ab") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "doorstep", "serve", "--host", "127.0.0.1", "--port", str(port)],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            assert process.poll() is None, log.read_text(errors="replace")[-3000:]
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"{url}/readyz", timeout=2).status_code == 200:
                    break
            assert time.monotonic() < deadline, "doorstep serve did not become ready"
            time.sleep(0.2)
        yield url, process
    finally:
        if process.poll() is None:
            process.kill()
        process.wait()


def _scalar(runtime: Runtime, query: str, **params: object) -> object:
    with runtime.engine.connect() as connection:
        return connection.execute(sa.text(query), params).scalar_one_or_none()


def _online(runtime: Runtime, endpoint_id: str) -> bool:
    query = "SELECT online FROM device_registrations WHERE endpoint_id = :e"
    return bool(_scalar(runtime, query, e=endpoint_id))


def _holder(runtime: Runtime, endpoint_id: str) -> str | None:
    query = (
        "SELECT h.replica FROM device_session_holders h JOIN device_registrations r "
        "ON r.device_id = h.device_id WHERE r.endpoint_id = :e"
    )
    found = _scalar(runtime, query, e=endpoint_id)
    return None if found is None else str(found)


def _listening(runtime: Runtime, replica: str) -> bool:
    query = "SELECT count(*) FROM pg_stat_activity WHERE application_name = :n"
    return bool(_scalar(runtime, query, n=APPLICATION_PREFIX + replica))


@pytest.mark.slow
def test_a_killed_replica_drops_its_devices_and_they_come_back_through_another(
    committed: Runtime, tmp_path: Path
) -> None:
    clock = SystemClock()  # both replicas on the real clock, as in production
    runtime = Runtime(
        settings=committed.settings.model_copy(update={"device_relay_lease_seconds": LEASE}),
        database_url=committed.database_url,
        engine=committed.engine,
        sessions=make_session_factory(committed.engine, clock),
        clock=clock,
    )
    (agent,) = devices_for(UspConfig(), 1)
    eid = agent.endpoint_id
    with runtime.sessions.begin() as session:
        provision(session, runtime, [agent])
        _subject, token = add_subscriber(session, runtime)
    auth = bearer(token)
    log = tmp_path / "serve.log"

    async def scenario(a_url: str, a: subprocess.Popen[bytes]) -> None:
        async with served(runtime) as b:
            assert b.state.relay is not None
            on_a = WebSocketOptions(a_url.replace("http://", "ws://") + "/usp", reconnect_max=1)
            async with fleet([agent], on_a):
                await until(lambda: _holder(runtime, eid) not in (None, b.state.relay.replica))
                holder = _holder(runtime, eid)
                assert holder is not None
                bound = await b.http.post(
                    f"{PREFIX}/bindings", json={"claim_code": agent.claim_code}, headers=auth
                )
                assert bound.status_code == 201, bound.text
                device = bound.json()["device_id"]
                status = await b.http.get(f"{PREFIX}/{device}/status", headers=auth)
                assert status.status_code == 200, status.text

                a.send_signal(signal.SIGKILL)
                a.wait()
                await until(lambda: not _listening(runtime, holder), timeout=30)
                gone = await b.http.get(f"{PREFIX}/{device}/status", headers=auth)
                assert gone.status_code == 503, gone.text
                assert gone.json()["type"].endswith("device-offline")
                assert _online(runtime, eid), "the registry did not know yet: the relay did"

                # once A's lease is a lease overdue, B's renewal sweeps it
                await until(lambda: not _online(runtime, eid), timeout=LEASE * 10)
                assert _holder(runtime, eid) is None

            async with fleet([agent], WebSocketOptions(b.ws_url)):  # it reconnects to B
                await until(lambda: _holder(runtime, eid) == b.state.relay.replica, timeout=30)
                await until(lambda: _online(runtime, eid), timeout=30)
                back = await b.http.get(f"{PREFIX}/{device}/status", headers=auth)
                assert back.status_code == 200, back.text

    with _replica(runtime, tmp_path / "data", log) as (a_url, a):
        run(scenario(a_url, a), timeout=180)
    said = log.read_text(errors="replace")
    assert agent.secret not in said and eid not in said
