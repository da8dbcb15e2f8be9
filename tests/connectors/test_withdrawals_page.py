"""The console page of withdrawals told to connected systems (issue 18, gap 1).

The same pack and live systems as ``test_withdrawals``: a subscriber withdraws the
newsletter consent by a request; the page lists every system's task, shows a
privacy officer the address to search the manual tickets tool by and takes the
desk's outcome with an evidence reference (CSRF-checked form); support staff
see the list without the address and cannot record anything.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from doorstep.asgi import create_app
from doorstep.core.clock import FakeClock
from doorstep.core.runtime import Runtime
from doorstep.privacy.connectors.withdrawals.models import SystemWithdrawal
from doorstep.privacy.requests.context import RequestContext
from doorstep.privacy.requests.fulfil import approve
from doorstep.services import Services
from doorstep.staff.services import add_staff
from doorstep.staff.signin import issue_link
from tests.connectors.test_withdrawals import (  # the same pack, service and runtime
    PURPOSE,
    _granted,
    clock,
    service,
    services,
    w_runtime,
)
from tests.consent_api.conftest import subscriber
from tests.requests.conftest import STAFF, verified

__all__ = ["clock", "service", "services", "w_runtime"]  # fixtures used here
ORIGIN = {"Origin": "http://testserver"}


@pytest.fixture
def page_client(w_runtime: Runtime, services: Services) -> Iterator[TestClient]:
    with TestClient(create_app(w_runtime), raise_server_exceptions=False) as test_client:
        yield test_client


def _signed_in(client: TestClient, db: Session, clock: FakeClock, role: str) -> None:
    staff = add_staff(db, role=role, clock=clock)
    made = client.post(
        "/api/v1/console/sessions", json={"token": issue_link(db, staff.id, clock=clock)}
    )
    assert made.status_code == 201, made.text
    client.cookies.set("doorstep_console", made.json()["access_token"])


def _csrf(html: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert found is not None
    return found.group(1)


def _withdrawn(db: Session, services: Services) -> tuple[uuid.UUID, str, SystemWithdrawal]:
    subject, _auth = subscriber(db, services.runtime)
    email = str(db.scalar(sa.text("SELECT email FROM accounts WHERE id = :s"), {"s": subject}))
    _granted(db, services, subject)
    ctx = RequestContext.of(services)
    approve(db, ctx, verified(db, ctx, subject, "consent_withdrawal", purpose=PURPOSE), actor=STAFF)
    db.commit()
    manual = db.scalars(
        sa.select(SystemWithdrawal).where(
            SystemWithdrawal.subject_id == subject, SystemWithdrawal.system == "tickets"
        )
    ).one()
    return subject, email, manual


def test_the_desk_sees_every_system_and_records_a_manual_outcome(
    page_client: TestClient, db: Session, services: Services, clock: FakeClock
) -> None:
    _subject, email, manual = _withdrawn(db, services)
    _signed_in(page_client, db, clock, "privacy_officer")
    page = page_client.get("/console/withdrawals")
    assert page.status_code == 200, page.text
    html = page.text
    for system in ("shop", "newsletter", "tickets"):
        assert f"<code>{system}</code>" in html
    assert "<code>sql_no_withdraw</code>" in html
    assert "Stop newsletter in After-sales tickets by hand" in html and email in html
    action = f"/console/withdrawals/{manual.id}/outcome"
    bad = page_client.post(
        action,
        data={"csrf_token": _csrf(html), "outcome": "done", "evidence": "by hand"},
        headers=ORIGIN,
        follow_redirects=False,
    )
    assert bad.status_code == 422 and "Enter a reference of letters" in bad.text
    done = page_client.post(
        action,
        data={"csrf_token": _csrf(html), "outcome": "done", "evidence": "AS-2041"},
        headers=ORIGIN,
        follow_redirects=False,
    )
    assert done.status_code == 303, done.text
    db.expire_all()
    row = db.get(SystemWithdrawal, manual.id)
    assert row is not None and (row.state, row.evidence) == ("done", "AS-2041")
    assert page_client.get("/console/withdrawals?state=nonsense").status_code == 422


def test_support_sees_the_list_without_the_address_and_records_nothing(
    page_client: TestClient, db: Session, services: Services, clock: FakeClock
) -> None:
    _subject, email, manual = _withdrawn(db, services)
    _signed_in(page_client, db, clock, "support")
    page = page_client.get("/console/withdrawals")
    assert page.status_code == 200
    assert email not in page.text and "not shown to your role" in page.text
    assert f"/console/withdrawals/{manual.id}/outcome" not in page.text
    refused = page_client.post(
        f"/console/withdrawals/{manual.id}/outcome",
        data={"csrf_token": _csrf(page.text), "outcome": "done", "evidence": "AS-1"},
        headers=ORIGIN,
        follow_redirects=False,
    )
    assert refused.status_code == 403
