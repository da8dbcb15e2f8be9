"""Fixtures of the devices tests: subscribers with tokens, provisioned simulated devices,
and the whole app served for real (uvicorn) with the devices area installed.

Network tests run everything in one event loop: uvicorn with ``create_app``, the
simulated agents over the real WebSocket MTP (or Mosquitto), and the app's HTTP API
through httpx.  They use the ``committed`` runtime, because the controller hooks write
from worker threads in transactions of their own.
"""

from __future__ import annotations

import contextlib
import dataclasses
import io
import logging
import secrets
import subprocess
import uuid
from collections.abc import AsyncIterator, Iterator, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from fastapi import FastAPI
from sqlalchemy.orm import Session

from doorstep.accounts.sessions import tokens
from doorstep.accounts.sessions.models import AccountSession
from doorstep.asgi import create_app
from doorstep.core.logging import guarded_formatter
from doorstep.core.runtime import Runtime
from doorstep.core.settings import LogFormat
from doorstep.devices import mount
from doorstep.devices.inventory import FactoryRecord, import_records, installation_key
from doorstep.privacy.consent.services import grant
from doorstep.usp.agent_sim import Host, SimAgent, make_agents
from doorstep.usp.agent_sim.fleet import SIM_HASH_LOG_N
from doorstep.usp.config import UspConfig
from tests.keys.pgtools import pg_tool
from tests.packs import reference_terms
from tests.usp_net.conftest import broker, net_config, serve_app, spawn_broker  # noqa: F401
from tests.usp_net.helpers import FAST

PREFIX = "/api/v1/devices"
NOTICE = "We use the phone's camera or location only for this step."


def add_subscriber(session: Session, runtime: Runtime) -> tuple[uuid.UUID, str]:
    """An active account with a live session: ``(subject id, access token)``."""
    subject = uuid.uuid4()
    now = runtime.clock.now()
    session.execute(
        sa.text("INSERT INTO subjects (id, kind, created_at) VALUES (:id, 'subscriber', :at)"),
        {"id": subject, "at": now},
    )
    session.execute(
        sa.text(
            "INSERT INTO accounts (id, status, email, password_hash, email_verified_at, "
            "created_at, source) VALUES (:id, 'active', :email, 'argon2id$x', :at, :at, "
            "'app_signup')"
        ),
        {"id": subject, "email": f"{subject.hex[:12]}@example.org", "at": now},
    )
    token = tokens.ACCESS_PREFIX + secrets.token_urlsafe(32)
    session.add(
        AccountSession(
            id=uuid.uuid4(),
            account_id=subject,
            family_id=uuid.uuid4(),
            token_hash=tokens.digest(token),
            refresh_hash=tokens.digest("r" + token),
            created_at=now,
            expires_at=now + timedelta(hours=12),
            refresh_expires_at=now + timedelta(days=1),
        )
    )
    session.flush()
    return subject, token


def consent(session: Session, runtime: Runtime, subject: uuid.UUID, purpose: str) -> None:
    """Grant an optional function (``device.qr_camera``, ``wifi.location_scan``)."""
    grant(
        session,
        subject_id=subject,
        purpose=purpose,
        channel="app",
        notice_text=NOTICE,
        clock=runtime.clock,
        terms=reference_terms(),
    )


def bearer(token: str) -> dict[str, str]:
    """The Authorization header of a session token."""
    return {"Authorization": f"Bearer {token}"}


def devices_for(config: UspConfig, count: int, **kwargs: Any) -> list[SimAgent]:
    """Simulated devices (even: router, odd: gateway) with fast timings."""
    return make_agents(count, controller_id=config.controller_id, timing=FAST, **kwargs)


def with_hosts(agent: SimAgent, hosts: Sequence[Host], *, ssid: str | None = None) -> SimAgent:
    """The same device with other connected hosts (and Wi-Fi name)."""
    profile = dataclasses.replace(
        agent.profile, hosts=tuple(hosts), ssid=ssid or agent.profile.ssid
    )
    return SimAgent(
        profile,
        controller_id=agent.controller_id,
        secret=agent.secret,
        claim_code=agent.claim_code,
        timing=agent.timing,
    )


def provision(session: Session, runtime: Runtime, agents: Sequence[SimAgent]) -> None:
    """Put the devices into the inventory, as ``doorstep devices import`` does."""
    records = [FactoryRecord(a.endpoint_id, a.secret, a.claim_code) for a in agents]
    import_records(
        session,
        records,
        key=installation_key(runtime.settings),
        now=runtime.clock.now(),
        log_n=SIM_HASH_LOG_N,
    )


def device_id_of(session: Session, runtime: Runtime, agent: SimAgent) -> uuid.UUID:
    """The inventory id of a simulated device."""
    from doorstep.devices.inventory import find_device_id

    found = find_device_id(
        session, key=installation_key(runtime.settings), endpoint_id=agent.endpoint_id
    )
    assert found is not None
    return found


def build_app(runtime: Runtime) -> FastAPI:
    """The app as served (``AREA_ROUTERS`` mounts the USP endpoint and the devices API)."""
    return create_app(runtime)


@dataclass
class Served:
    """The app served for real: its WebSocket URL and an HTTP client on it."""

    app: FastAPI
    state: mount.DevicesState
    ws_url: str
    http: httpx.AsyncClient
    config: UspConfig


@contextlib.asynccontextmanager
async def served(runtime: Runtime, **changes: Any) -> AsyncIterator[Served]:
    """The app on a free port with the devices area installed on a test topic root."""
    config = net_config(1883, **changes)
    app = build_app(runtime)
    state = mount.install(app, config=config)
    async with serve_app(app) as ws_url:
        base = ws_url.replace("ws://", "http://").removesuffix("/usp")
        async with httpx.AsyncClient(base_url=base, timeout=30) as http:
            yield Served(app, state, ws_url, http, config)


def dump_database(runtime: Runtime) -> str:
    """A plain-text ``pg_dump`` of the test database (every table, Procrastinate's too)."""
    url = runtime.database_url
    done = subprocess.run(
        [pg_tool("pg_dump", url), "--no-owner", "-d", url],
        check=True,
        capture_output=True,
        text=True,
    )
    return done.stdout


@pytest.fixture
def log_lines() -> Iterator[io.StringIO]:
    """Every log line of the test at DEBUG, formatted as production does (JSON, extras)."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setLevel(logging.DEBUG)
    handler.setFormatter(guarded_formatter(LogFormat.JSON))
    root = logging.getLogger()
    old_level = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    yield stream
    root.removeHandler(handler)
    root.setLevel(old_level)


def job_rows(runtime: Runtime) -> str:
    """Every row of the job tables, as text."""
    with runtime.engine.connect() as connection:
        rows = connection.execute(
            sa.text(
                "SELECT coalesce(string_agg(j::text, E'\\n'), '') FROM procrastinate_jobs j "
                "UNION ALL SELECT coalesce(string_agg(e::text, E'\\n'), '') "
                "FROM procrastinate_events e"
            )
        ).scalars()
        return "\n".join(rows)
