"""A ``doorstep serve`` replica is killed in the middle of a request: the client gets an
error, and the change is never half-applied.

A real ``doorstep serve`` process holds the router's WebSocket session, and the owner sets
the Wi-Fi through its API.  The process is killed (SIGKILL) at the two moments that matter:

* **before the router is asked**: the request waits on a lock the test holds on a table
  its first device query reads, and the process is killed while it waits.  The router
  keeps its Wi-Fi, and the database holds no trace of the change: neither applied nor
  recorded.
* **after the router got the Set**: the router kills the process the moment the Set
  reaches it, then applies it.  The router has the new Wi-Fi, and the audit trail says
  that the change was sent (``devices.wifi_set``, outcome ``sent``, committed before it
  left), never that it succeeded, since nobody saw the router's answer.

Both times the client gets no answer but a closed connection (an error, never a 2xx).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from doorstep.core.runtime import Runtime
from doorstep.usp import Msg, Set
from doorstep.usp.agent_sim import SimAgent, WebSocketOptions
from doorstep.usp.agent_sim._outbound import SendMsg
from doorstep.usp.config import UspConfig
from tests.conftest import database_url_of
from tests.devices.conftest import PREFIX, add_subscriber, bearer, devices_for, provision
from tests.devices.faults import real_time, wait_for
from tests.usp_net.conftest import free_port, run
from tests.usp_net.helpers import fleet

ROOT = Path(__file__).resolve().parents[2]
SSID = "Device.WiFi.SSID.1.SSID"
ERRORS = (httpx.RemoteProtocolError, httpx.ReadError, httpx.WriteError)
"""What a client sees of a server that died before answering."""


class Tripwire(SimAgent):
    """A router that kills ``victim`` (a process id) the moment a Set reaches it, then
    carries the Set out as any router would."""

    victim: int | None = None

    def answer(self, msg: Msg, send: SendMsg) -> Msg | None:
        """Kill the victim first when ``msg`` is a Set."""
        if isinstance(msg.body, Set) and self.victim is not None:
            os.kill(self.victim, signal.SIGKILL)
            self.victim = None
        return super().answer(msg, send)


@contextlib.contextmanager
def _serve(runtime: Runtime, port: int, data_dir: Path, log: Path) -> Iterator[int]:
    """``doorstep serve`` on ``port`` in a process of its own; yields its process id."""
    env = {
        **os.environ,
        "DOORSTEP_ENV": "test",
        "DOORSTEP_DATABASE_URL": database_url_of(runtime.settings),
        "DOORSTEP_DATA_DIR": str(data_dir),
    }
    with log.open("ab") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "doorstep", "serve", "--host", "127.0.0.1", "--port", str(port)],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + 60
        while True:
            assert process.poll() is None, log.read_text(errors="replace")[-3000:]
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=2).status_code == 200:
                    break
            assert time.monotonic() < deadline, "doorstep serve did not become ready"
            time.sleep(0.2)
        yield process.pid
    finally:
        if process.poll() is None:
            process.kill()
        process.wait()


def _scalar(runtime: Runtime, query: str, **params: object) -> Any:
    with runtime.engine.connect() as connection:
        return connection.execute(sa.text(query), params).scalar()


def _trail(runtime: Runtime, device: str) -> list[str]:
    """The outcomes of the ``devices.wifi_set`` events of ``device``, oldest first."""
    with runtime.engine.connect() as connection:
        rows = connection.execute(
            sa.text(
                "SELECT outcome FROM audit_events WHERE action = 'devices.wifi_set' "
                "AND details->>'device' = :d ORDER BY id"
            ),
            {"d": device},
        )
        return [row[0] for row in rows]


def _waiting_on_a_lock(runtime: Runtime) -> bool:
    query = (
        "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
        "AND query ILIKE '%device_capabilities%'"
    )
    return bool(_scalar(runtime, query))


@pytest.mark.slow
def test_a_replica_killed_mid_request_leaves_the_change_whole_or_not_at_all(
    committed: Runtime, tmp_path: Path
) -> None:
    runtime = real_time(committed)
    (made,) = devices_for(UspConfig(), 1)
    router = Tripwire(
        made.profile,
        controller_id=made.controller_id,
        secret=made.secret,
        claim_code=made.claim_code,
        timing=made.timing,
    )
    with runtime.sessions.begin() as session:
        provision(session, runtime, [router])
        _subject, token = add_subscriber(session, runtime)
    auth = bearer(token)
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    options = WebSocketOptions(f"ws://127.0.0.1:{port}/usp", reconnect_min=0.2, reconnect_max=1)
    online = (
        "SELECT count(*) FROM device_registrations WHERE endpoint_id = :e AND online "
        "AND firmware_version IS NOT NULL"
    )
    log = tmp_path / "serve.log"

    async def until_online(sessions: int) -> None:
        """The router's ``sessions``-th session is up and its registration stored."""
        await wait_for(lambda: router.sessions >= sessions, 60, "the router did not connect")
        await wait_for(lambda: bool(_scalar(runtime, online, e=router.endpoint_id)), 60)

    async def set_wifi(http: httpx.AsyncClient, device: str, ssid: str) -> object:
        body = {"ssid": ssid, "passphrase": "long-enough-pass"}
        try:
            answer = await http.put(f"{PREFIX}/{device}/wifi", json=body, headers=auth)
        except ERRORS as exc:
            return exc
        return answer

    async def before_the_router_is_asked(pid: int) -> str:
        async with httpx.AsyncClient(base_url=url, timeout=60) as http:
            bound = await http.post(
                f"{PREFIX}/bindings", json={"claim_code": router.claim_code}, headers=auth
            )
            assert bound.status_code == 201, bound.text
            device = str(bound.json()["device_id"])
            with runtime.engine.connect() as blocker:
                blocker.execute(sa.text("LOCK TABLE device_capabilities IN ACCESS EXCLUSIVE MODE"))
                asked = asyncio.create_task(set_wifi(http, device, "never-sent"))
                await wait_for(lambda: _waiting_on_a_lock(runtime), 30, "the request never waited")
                os.kill(pid, signal.SIGKILL)
                outcome = await asyncio.wait_for(asked, 30)
                blocker.rollback()
        assert isinstance(outcome, ERRORS), outcome
        return device

    async def after_the_router_got_the_set(pid: int, device: str) -> None:
        async with httpx.AsyncClient(base_url=url, timeout=60) as http:
            for _ in range(50):  # this process holds the router's session once it answers
                status = await http.get(f"{PREFIX}/{device}/status", headers=auth)
                if status.status_code == 200:
                    break
                await asyncio.sleep(0.2)
            assert status.status_code == 200, status.text
            router.victim = pid
            outcome = await set_wifi(http, device, "applied-as-asked")
        assert isinstance(outcome, ERRORS), outcome
        assert router.victim is None, "the Set never reached the router"

    async def serving(stack: contextlib.ExitStack) -> int:
        """A serve process on ``port`` (started on a thread: it polls until ready)."""
        started = _serve(runtime, port, tmp_path / "data", log)
        return int(await asyncio.to_thread(stack.enter_context, started))

    async def scenario() -> None:
        async with fleet([router], options, onboard=False):
            with contextlib.ExitStack() as first:
                pid = await serving(first)
                await until_online(1)
                device = await before_the_router_is_asked(pid)
            before = router.model.values[SSID]
            assert before != "never-sent"
            await asyncio.sleep(1.0)  # the database notices the dead process's connection
            assert _trail(runtime, device) == []  # neither applied nor recorded

            with contextlib.ExitStack() as second:
                pid = await serving(second)
                await until_online(2)
                await after_the_router_got_the_set(pid, device)
            assert router.model.values[SSID] == "applied-as-asked"
            assert _trail(runtime, device) == ["sent"]  # on record before it left; no success

    run(scenario(), timeout=110)
    said = log.read_text(errors="replace")
    assert router.secret not in said and "long-enough-pass" not in said
