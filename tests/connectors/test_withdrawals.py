"""A withdrawn consent (or an objection) reaches the systems that rely on it (CORP-2.5).

The reference pack, with two more elements resting on the ``newsletter`` consent
(a column of the shop's orders, a field of the after-sales tickets), and the demo's
newsletter service running on loopback (``DOORSTEP_SYSTEM_URLS`` points the pack's
``newsletter`` at it).  A subscriber who withdraws the newsletter consent — in the
app, the privacy center or by a request — or objects to it gets, in the same
transaction, one task per live system: a signed ``withdraw`` call to the service
(which then sends them nothing and counts no open), a task on the desk for the
manual tickets tool, and a recorded skip for the SQL shop.  Failures are retried
and shown; payloads and audit entries hold ids only.
"""

from __future__ import annotations

import shutil
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from doorstep.asgi import create_app
from doorstep.core.clock import FakeClock
from doorstep.core.runtime import Runtime
from doorstep.core.settings import Settings, load_settings
from doorstep.demo_systems.newsletter import Newsletter
from doorstep.demo_systems.newsletter_http import NewsletterServer
from doorstep.privacy.connectors.credentials import set_secret
from doorstep.privacy.connectors.withdrawals.desk import rerun
from doorstep.privacy.connectors.withdrawals.fanout import RUN_TASK
from doorstep.privacy.connectors.withdrawals.models import SystemWithdrawal
from doorstep.privacy.connectors.withdrawals.run import Retry, attempt
from doorstep.privacy.consent import services as consent
from doorstep.privacy.datamap.pack import DEFAULT_PACK
from doorstep.privacy.requests.context import RequestContext
from doorstep.privacy.requests.fulfil import approve
from doorstep.services import Services
from doorstep.staff.services import add_staff
from doorstep.staff.signin import issue_link
from doorstep.wiring import build_services
from tests.conftest import database_url_of
from tests.connectors.loopback import Newsletter as Loopback
from tests.connectors.loopback import Service
from tests.consent_api.conftest import PREFIX, subscriber
from tests.requests.conftest import STAFF, verified
from tests.web.clients import page_client, sign_in_as, token_of
from tests.web.people import make_subscriber

SECRET = "newsletter-signing-secret-for-withdrawals"
PURPOSE = "newsletter"
EXTRA = {
    "      ticket.name:\n": (
        "      ticket.newsletter:\n"
        "        field: newsletter_address\n        category: user.contact.email\n"
        "        purposes: [newsletter]\n        legal_basis: consent\n"
        "        retention: after_sales_ticket\n"
        "        description: Where the tool mails the newsletter of the repair shop.\n"
        "      ticket.name:\n"
    ),
    "          items:\n": (
        "          newsletter_optin:\n"
        "            category: user.privacy_preferences\n            purposes: [newsletter]\n"
        "            legal_basis: consent\n            retention: order_record\n"
        "            description: Whether the buyer asked for the newsletter.\n"
        "          items:\n"
    ),
}


@pytest.fixture
def clock() -> FakeClock:
    """The real time, standing still: the demo service checks signatures against its clock."""
    return FakeClock(datetime.now(tz=UTC).replace(microsecond=0))


@pytest.fixture
def service() -> Iterator[NewsletterServer]:
    with NewsletterServer(Newsletter(SECRET)) as server:
        yield server


def _pack(tmp_path: Path) -> Path:
    target = Path(shutil.copytree(DEFAULT_PACK, tmp_path / f"pack{len(list(tmp_path.iterdir()))}"))
    text = (target / "systems.yaml").read_text(encoding="utf-8")
    for old, new in EXTRA.items():
        assert text.count(old) == 1, old
        text = text.replace(old, new)
    (target / "systems.yaml").write_text(text, encoding="utf-8")
    return target


def _runtime(
    settings: Settings, runtime: Runtime, tmp_path: Path, url: str, live: tuple[str, ...]
) -> Runtime:
    configured = load_settings(
        env="test",
        database_url=database_url_of(settings),
        data_dir=settings.data_dir,
        policy_pack=_pack(tmp_path),
        system_urls={"newsletter": url},
        requests_systems=live,
        requests_systems_attempts=2,
    )
    return Runtime(
        settings=configured,
        database_url=runtime.database_url,
        engine=runtime.engine,
        sessions=runtime.sessions,
        clock=runtime.clock,
    )


@pytest.fixture
def w_runtime(
    settings: Settings, runtime: Runtime, tmp_path: Path, service: NewsletterServer
) -> Runtime:
    return _runtime(settings, runtime, tmp_path, service.url, ("shop", "newsletter", "tickets"))


@pytest.fixture
def services(w_runtime: Runtime, db: Session, clock: FakeClock) -> Services:
    made = build_services(w_runtime)
    set_secret(db, made.keys.keyring, clock, "newsletter", SECRET)
    db.commit()
    return made


@pytest.fixture
def client(w_runtime: Runtime, services: Services) -> Iterator[TestClient]:
    with TestClient(create_app(w_runtime), raise_server_exceptions=False) as test_client:
        yield test_client


def _granted(db: Session, services: Services, subject: uuid.UUID) -> None:
    consent.grant(
        db,
        subject_id=subject,
        purpose=PURPOSE,
        channel="app",
        notice_text="Receive our newsletter by e-mail",
        clock=services.runtime.clock,
        terms=services.terms,
    )


def _email(db: Session, subject: uuid.UUID) -> str:
    return str(db.scalar(sa.text("SELECT email FROM accounts WHERE id = :s"), {"s": subject}))


def _tasks(db: Session, subject: uuid.UUID) -> dict[str, SystemWithdrawal]:
    db.expire_all()
    rows = db.scalars(sa.select(SystemWithdrawal).where(SystemWithdrawal.subject_id == subject))
    return {row.system: row for row in rows}


def _job_args(db: Session, task_id: uuid.UUID) -> list[dict[str, object]]:
    rows = db.execute(
        sa.text(
            "SELECT args FROM procrastinate_jobs WHERE task_name = :t AND args->>'task_id' = :i"
        ),
        {"t": RUN_TASK, "i": str(task_id)},
    )
    return [row.args for row in rows]


def _officer(client: TestClient, db: Session, clock: FakeClock, role: str) -> dict[str, str]:
    staff = add_staff(db, role=role, clock=clock)
    made = client.post(
        "/api/v1/console/sessions", json={"token": issue_link(db, staff.id, clock=clock)}
    )
    assert made.status_code == 201, made.text
    return {"Authorization": f"Bearer {made.json()['access_token']}"}


@pytest.mark.clause("CORP-2.5")
def test_withdrawing_the_newsletter_consent_unsubscribes_at_the_service_and_stops_its_pixel(
    client: TestClient,
    db: Session,
    services: Services,
    sessions: sessionmaker[Session],
    service: NewsletterServer,
    w_runtime: Runtime,
) -> None:
    subject, auth = subscriber(db, w_runtime)
    email = _email(db, subject)
    _granted(db, services, subject)
    other = service.newsletter.subscribe("someone-else@example.org")
    mine = service.newsletter.subscribe(email)
    db.commit()
    listing = client.get(PREFIX, headers=auth).json()["consents"]
    assert PURPOSE in [entry["purpose"] for entry in listing]  # managed with the others

    withdrawn = client.post(
        f"{PREFIX}/{PURPOSE}/withdraw", headers={**auth, "Idempotency-Key": "nl-1"}
    )
    assert withdrawn.status_code == 200, withdrawn.text
    task = _tasks(db, subject)["newsletter"]
    assert (task.state, task.cause, task.attempts) == ("pending", "withdrawal", 0)
    assert _job_args(db, task.id) == [{"task_id": str(task.id)}]  # the task id only
    assert service.newsletter.get(mine.id).subscribed  # not before the job runs

    assert attempt(services, sessions, task.id) == "done"
    found = service.newsletter.get(mine.id)
    assert found is not None and not found.subscribed and not found.tracking
    assert ("unsubscribed", "doorstep") in [(event, via) for event, _, via in found.history]
    campaign, sent = service.newsletter.send_campaign("December news")
    assert sent == 1 and [m.to for m in service.newsletter.sent if m.campaign == campaign] == [
        "someone-else@example.org"
    ]
    pixel = httpx.get(f"{service.url}pixel/{campaign}/{mine.id}.gif", trust_env=False)
    assert pixel.status_code == 200 and found.opens == []  # the pixel counts nothing for them
    assert service.newsletter.record_open(campaign, other.id)
    task = _tasks(db, subject)["newsletter"]
    assert task.evidence is not None and task.evidence.startswith("NL-")
    details = db.execute(
        sa.text("SELECT details::text FROM audit_events WHERE action LIKE 'withdrawal.%'")
    ).scalars()
    assert all(email not in text for text in details)  # ids and codes only
    assert attempt(services, sessions, task.id) == "done"  # a repeated job changes nothing


def test_the_privacy_center_withdrawal_reaches_the_systems_too(
    db: Session, services: Services, w_runtime: Runtime
) -> None:
    person = make_subscriber(w_runtime)
    _granted(db, services, person.subject_id)
    db.commit()
    with page_client(w_runtime) as browser:
        sign_in_as(browser, person, then="/privacy/consents")
        page = browser.get("/privacy/consents")
        assert "Receive our newsletter by e-mail" in page.text
        done = browser.post(
            f"/privacy/consents/{PURPOSE}",
            data={"action": "withdraw", "csrf_token": token_of(browser, "/privacy/consents")},
            follow_redirects=False,
        )
        assert done.status_code == 303, done.text
    assert {key: row.state for key, row in _tasks(db, person.subject_id).items()} == {
        "newsletter": "pending",
        "tickets": "waiting",
        "shop": "skipped",
    }


def test_a_request_reaches_a_manual_system_as_a_desk_task_and_skips_an_sql_one(
    client: TestClient, db: Session, services: Services, clock: FakeClock
) -> None:
    subject, _auth = subscriber(db, services.runtime)
    _granted(db, services, subject)
    ctx = RequestContext.of(services)
    request_id = verified(db, ctx, subject, "consent_withdrawal", purpose=PURPOSE)
    approve(db, ctx, request_id, actor=STAFF)
    tasks = _tasks(db, subject)
    assert set(tasks) == {"newsletter", "tickets", "shop"}
    assert (tasks["shop"].state, tasks["shop"].reason) == ("skipped", "sql_no_withdraw")
    manual = tasks["tickets"]
    assert manual.state == "waiting" and manual.due_at == clock.now() + timedelta(days=7)
    assert _job_args(db, manual.id) == [] and _job_args(db, tasks["shop"].id) == []
    db.commit()

    support = _officer(client, db, clock, "support")
    seen = client.get("/api/v1/console/withdrawals", headers=support).json()
    (row,) = [item for item in seen if item["system"] == "tickets"]
    assert row["look_for"] is None and row["withheld"] is True  # not for this role
    path = f"/api/v1/console/withdrawals/{manual.id}/outcome"
    refused = client.post(path, json={"outcome": "done", "evidence": "AS-1"}, headers=support)
    assert refused.status_code == 403

    officer = _officer(client, db, clock, "privacy_officer")
    seen = client.get("/api/v1/console/withdrawals?state=waiting", headers=officer).json()
    (row,) = seen
    assert row["look_for"] == {"email": [_email(db, subject)]} and row["withheld"] is False
    bad = client.post(path, json={"outcome": "done", "evidence": "by hand!"}, headers=officer)
    assert bad.status_code == 422 and _tasks(db, subject)["tickets"].state == "waiting"
    other = f"/api/v1/console/withdrawals/{tasks['newsletter'].id}/outcome"
    assert (
        client.post(other, json={"outcome": "done", "evidence": "X"}, headers=officer).status_code
        == 409
    )
    done = client.post(path, json={"outcome": "done", "evidence": "AS-2041"}, headers=officer)
    assert done.status_code == 200, done.text
    assert (done.json()["state"], done.json()["evidence"]) == ("done", "AS-2041")


def test_an_objection_tells_the_systems_as_a_withdrawal_does(
    db: Session, services: Services
) -> None:
    subject, _auth = subscriber(db, services.runtime)
    ctx = RequestContext.of(services)
    request_id = verified(db, ctx, subject, "objection", purpose=PURPOSE)
    approve(db, ctx, request_id, actor=STAFF)
    tasks = _tasks(db, subject)
    assert {row.cause for row in tasks.values()} == {"objection"}
    restriction = db.scalar(
        sa.text("SELECT id FROM restrictions WHERE subject_id = :s AND purpose = :p"),
        {"s": subject, "p": PURPOSE},
    )
    assert {row.origin_id for row in tasks.values()} == {restriction}


def test_a_failing_service_is_retried_then_failed_shown_and_run_again(
    db: Session,
    settings: Settings,
    runtime: Runtime,
    sessions: sessionmaker[Session],
    tmp_path: Path,
    clock: FakeClock,
) -> None:
    flaky = Service(Loopback(secret=SECRET, mode="error"))
    try:
        failing = build_services(_runtime(settings, runtime, tmp_path, flaky.url, ("newsletter",)))
        set_secret(db, failing.keys.keyring, clock, "newsletter", SECRET)
        subject, _auth = subscriber(db, runtime)
        email = _email(db, subject)
        flaky.state.subscribers[email] = {"email": email, "opens": 0}
        _granted(db, failing, subject)
        withdrawn = consent.withdraw(
            db, subject_id=subject, purpose=PURPOSE, channel="web", clock=clock, terms=failing.terms
        )
        failing.consent_withdrawn(
            db, subject, PURPOSE, cause="withdrawal", origin_id=withdrawn.id, actor=STAFF
        )
        db.commit()
        task = _tasks(db, subject)["newsletter"]
        with pytest.raises(Retry):
            attempt(failing, sessions, task.id)
        retried = _tasks(db, subject)["newsletter"]
        assert (retried.state, retried.attempts, retried.reason) == ("pending", 1, "failed")
        assert attempt(failing, sessions, task.id) == "failed"
        failed = _tasks(db, subject)["newsletter"]
        assert (failed.attempts, failed.reason) == (2, "failed")
        audited = db.execute(
            sa.text("SELECT count(*) FROM audit_events WHERE action = 'withdrawal.failed'")
        ).scalar_one()
        assert audited == 1

        flaky.state.mode = "ok"
        again = rerun(db, task.id, actor=STAFF)
        db.commit()
        assert (again.state, again.attempts) == ("pending", 0)
        waiting = db.execute(
            sa.text(
                "SELECT count(*) FROM procrastinate_jobs WHERE task_name = :t "
                "AND args->>'task_id' = :i AND status = 'todo'"
            ),
            {"t": RUN_TASK, "i": str(task.id)},
        ).scalar_one()
        assert waiting == 1  # a job waits for it (the queueing lock keeps it to one)
        assert attempt(failing, sessions, task.id) == "done"
        assert flaky.state.subscribers[email]["subscribed"] is False
        assert len(flaky.state.withdrawn) == 1  # one idempotency key throughout
    finally:
        flaky.stop()


def test_nothing_is_told_when_the_withdrawal_rolls_back_or_no_system_is_live(
    db: Session, services: Services, runtime: Runtime, clock: FakeClock
) -> None:
    subject, _auth = subscriber(db, services.runtime)
    _granted(db, services, subject)
    db.commit()
    nested = db.begin_nested()
    withdrawn = consent.withdraw(
        db, subject_id=subject, purpose=PURPOSE, channel="web", clock=clock, terms=services.terms
    )
    made = services.consent_withdrawn(
        db, subject, PURPOSE, cause="withdrawal", origin_id=withdrawn.id, actor=STAFF
    )
    assert len(made) == 3 and len(_job_args(db, made[0]) + _job_args(db, made[1])) >= 1
    nested.rollback()
    assert _tasks(db, subject) == {}
    jobs = sa.text("SELECT count(*) FROM procrastinate_jobs WHERE task_name = :t")
    assert db.execute(jobs, {"t": RUN_TASK}).scalar_one() == 0
    idle = build_services(runtime)  # requests_systems empty: no system is live
    withdrawn = consent.withdraw(
        db, subject_id=subject, purpose=PURPOSE, channel="web", clock=clock, terms=idle.terms
    )
    assert (
        idle.consent_withdrawn(
            db, subject, PURPOSE, cause="withdrawal", origin_id=withdrawn.id, actor=STAFF
        )
        == []
    )
