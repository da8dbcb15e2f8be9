"""A request refused or extended after it reached the connected systems (issue 18, gap 2).

The reference pack's shop (the demo shop's schema in a database of the test's
own), a loopback newsletter service that counts every call, and the manual
tickets tool.  A deletion request is approved — one task per system — and the
shop's part is done.  Refusing it then cancels what is outstanding: the
newsletter's queued job calls nothing, its late callback changes nothing, the
desk's ticket task closes as cancelled with the refusal code, the shop's done
part stays done, and the console shows it.  Extending a request moves the manual
task's due date inside the new deadline.
"""

from __future__ import annotations

import json
import os
import shutil
import uuid
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import psycopg
import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from doorstep.asgi import create_app
from doorstep.core.clock import FakeClock
from doorstep.core.database import drop_databases
from doorstep.core.runtime import Runtime
from doorstep.core.settings import Settings, load_settings
from doorstep.demo_systems.shop import declared, open_shop
from doorstep.privacy.connectors import signing
from doorstep.privacy.connectors.credentials import set_secret
from doorstep.privacy.datamap.pack import DEFAULT_PACK
from doorstep.privacy.requests.context import RequestContext
from doorstep.privacy.requests.fulfil import approve
from doorstep.privacy.requests.systems.models import RequestSystem
from doorstep.privacy.requests.systems.run import attempt
from doorstep.staff.services import add_staff
from doorstep.staff.signin import issue_link
from doorstep.wiring import build_services
from tests.conftest import database_url_of
from tests.connectors.loopback import Newsletter, Service
from tests.consent_api.conftest import subscriber
from tests.requests.conftest import STAFF, verified

SECRET = "newsletter-secret-for-refusals"


@pytest.fixture
def shop(server_url: str) -> Iterator[str]:
    name = f"doorstep_test_refshop_{os.environ.get('PYTEST_XDIST_WORKER', 'main')}"
    drop_databases(server_url, [name])
    try:
        yield open_shop(server_url, email="demo@example.org", phone="+4915100000001", database=name)
    finally:
        drop_databases(server_url, [name])


@pytest.fixture
def newsletter() -> Iterator[Service]:
    service = Service(Newsletter(secret=SECRET))
    yield service
    service.stop()


def _pack(tmp_path: Path) -> Path:
    """The reference pack whose tickets are due in 45 days (past the first deadline)."""
    target = Path(shutil.copytree(DEFAULT_PACK, tmp_path / "pack"))
    text = (target / "systems.yaml").read_text(encoding="utf-8")
    assert text.count("    due_days: 7\n") == 1
    (target / "systems.yaml").write_text(text.replace("    due_days: 7\n", "    due_days: 45\n"))
    return target


@pytest.fixture
def ctx(
    settings: Settings,
    runtime: Runtime,
    tmp_path: Path,
    shop: str,
    newsletter: Service,
    db: Session,
    clock: FakeClock,
) -> RequestContext:
    bare, _password = declared(shop)
    configured = load_settings(
        env="test",
        database_url=database_url_of(settings),
        data_dir=settings.data_dir,
        policy_pack=_pack(tmp_path),
        system_urls={"shop": bare, "newsletter": newsletter.url},
        requests_systems=("shop", "newsletter", "tickets"),
        requests_extensions={"default": "P2M"},
    )
    services = build_services(
        Runtime(
            settings=configured,
            database_url=runtime.database_url,
            engine=runtime.engine,
            sessions=runtime.sessions,
            clock=clock,
        )
    )
    set_secret(db, services.keys.keyring, clock, "newsletter", SECRET)
    return RequestContext.of(services)


@pytest.fixture
def client(ctx: RequestContext) -> Iterator[TestClient]:
    runtime = ctx.require_services().runtime
    with TestClient(create_app(runtime), raise_server_exceptions=False) as test_client:
        yield test_client


def _tasks(db: Session, request_id: uuid.UUID) -> dict[str, RequestSystem]:
    db.expire_all()
    rows = db.scalars(sa.select(RequestSystem).where(RequestSystem.request_id == request_id))
    return {row.system: row for row in rows}


def _approved(db: Session, ctx: RequestContext, shop: str, newsletter: Service) -> uuid.UUID:
    subject, _auth = subscriber(db, ctx.require_services().runtime)
    email = str(db.scalar(sa.text("SELECT email FROM accounts WHERE id = :s"), {"s": subject}))
    with psycopg.connect(shop, autocommit=True) as connection:
        connection.execute(
            "INSERT INTO orders (order_number, email, name) VALUES (%s, %s, 'Ada')",
            (f"R-{subject.hex[:8]}", email),
        )
    newsletter.state.subscribers[email] = {"email": email, "opens": 1}
    request_id = verified(db, ctx, subject, "deletion", ground="NO_PERMISSION")
    approve(db, ctx, request_id, actor=STAFF)
    db.commit()
    return request_id


def _staff(client: TestClient, db: Session, clock: FakeClock) -> dict[str, str]:
    staff = add_staff(db, role="privacy_officer", clock=clock)
    made = client.post(
        "/api/v1/console/sessions", json={"token": issue_link(db, staff.id, clock=clock)}
    )
    assert made.status_code == 201, made.text
    token = made.json()["access_token"]
    client.cookies.set("doorstep_console", token)
    return {"Authorization": f"Bearer {token}"}


def test_refusing_after_the_fan_out_cancels_the_outstanding_work_and_undoes_nothing(
    client: TestClient,
    db: Session,
    ctx: RequestContext,
    sessions: sessionmaker[Session],
    clock: FakeClock,
    shop: str,
    newsletter: Service,
) -> None:
    request_id = _approved(db, ctx, shop, newsletter)
    tasks = _tasks(db, request_id)
    assert {key: row.state for key, row in tasks.items()} == {
        "shop": "pending",
        "newsletter": "pending",
        "tickets": "waiting",
    }
    assert attempt(ctx, sessions, tasks["shop"].id) == "done"  # the shop's part is done

    auth = _staff(client, db, clock)
    refused = client.post(
        f"/api/v1/console/requests/{request_id}/refuse", json={"code": "IMPRACTICAL"}, headers=auth
    )
    assert refused.status_code == 200, refused.text
    tasks = _tasks(db, request_id)
    assert {key: (row.state, row.reason) for key, row in tasks.items()} == {
        "shop": ("done", None),
        "newsletter": ("cancelled", "IMPRACTICAL"),
        "tickets": ("cancelled", "IMPRACTICAL"),
    }
    assert all(row.sealed is None for row in tasks.values())  # nothing left to open
    with psycopg.connect(shop) as connection:  # nothing done is undone
        names = connection.execute("SELECT name FROM orders WHERE order_number LIKE 'R-%'")
        assert [row[0] for row in names] == [None]

    # the newsletter's queued job runs late: it calls nothing
    assert attempt(ctx, sessions, tasks["newsletter"].id) == "cancelled"
    assert newsletter.state.calls == []
    # a late signed callback changes nothing either
    body = json.dumps({"status": "done", "rows": 1}).encode()
    key = str(tasks["newsletter"].id)
    late = client.post(
        "/api/v1/connectors/newsletter/callback",
        content=body,
        headers=signing.headers(SECRET, int(clock.now().timestamp()), key, body),
    )
    assert late.status_code == 200 and late.json() == {"state": "cancelled"}
    # the desk's manual task is closed
    outcome = client.post(
        f"/api/v1/console/requests/{request_id}/systems/tickets/outcome",
        json={"outcome": "done", "evidence": "AS-1"},
        headers=auth,
    )
    assert outcome.status_code == 409
    page = client.get(f"/console/requests/{request_id}")
    assert page.status_code == 200
    assert "<code>cancelled</code>" in page.text and "<code>IMPRACTICAL</code>" in page.text
    audited = db.execute(
        sa.text("SELECT details->>'systems' FROM audit_events WHERE action = :a"),
        {"a": "request.systems_cancelled"},
    ).scalars()
    assert list(audited) == ["newsletter:tickets"]


def test_extending_moves_the_manual_tasks_due_date_inside_the_new_deadline(
    client: TestClient,
    db: Session,
    ctx: RequestContext,
    clock: FakeClock,
    shop: str,
    newsletter: Service,
) -> None:
    request_id = _approved(db, ctx, shop, newsletter)
    first = _tasks(db, request_id)["tickets"]
    deadline = db.scalar(
        sa.text("SELECT due_at FROM subject_requests WHERE id = :r"), {"r": request_id}
    )
    assert first.due_at == deadline  # 45 days would be past the first deadline
    auth = _staff(client, db, clock)
    extended = client.post(
        f"/api/v1/console/requests/{request_id}/extend",
        json={"months": 2, "reason": "complexity"},
        headers=auth,
    )
    assert extended.status_code == 200, extended.text
    later = db.scalar(
        sa.text("SELECT due_at FROM subject_requests WHERE id = :r"), {"r": request_id}
    )
    moved = _tasks(db, request_id)["tickets"]
    assert later > deadline
    assert moved.due_at == moved.created_at + timedelta(days=45) and moved.due_at <= later
    assert _tasks(db, request_id)["newsletter"].due_at is None  # only manual tasks are due
