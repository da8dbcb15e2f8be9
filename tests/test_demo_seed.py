"""What ``doorstep demo`` seeds: a subscriber with a bound router, a request, a console link."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from doorstep.accounts.context import AccountContext
from doorstep.accounts.exceptions import AuthenticationFailedError
from doorstep.accounts.signin import flows
from doorstep.core.runtime import Runtime
from doorstep.demo import SUBSCRIBER, WAITING, banner, seed
from doorstep.staff.signin import redeem_link
from doorstep.usp.config import UspConfig
from tests.devices.conftest import devices_for, provision


def test_the_demo_seeds_people_once_and_a_fresh_password_each_start(committed: Runtime) -> None:
    agents = devices_for(UspConfig(), 2)
    with committed.sessions.begin() as session:
        provision(session, committed, agents)
    first = seed(committed, agents, base_url="http://127.0.0.1:8000/")
    assert first.email == SUBSCRIBER and first.bound == 1
    assert first.console_link.startswith("http://127.0.0.1:8000/console/sign-in?token=dsl_")
    ctx = AccountContext.for_runtime(committed)
    with committed.sessions.begin() as session:
        flows.sign_in(session, ctx, SUBSCRIBER, first.password, address=None)
        made = redeem_link(
            session, first.console_link.split("token=")[1], clock=committed.clock, session_hours=1
        )
        assert made.staff.role.value == "privacy_officer"
        bound = session.execute(
            sa.text(
                "SELECT count(*) FROM device_bindings b JOIN accounts a ON a.id = b.subject_id "
                "WHERE a.email = :e AND b.unbound_at IS NULL"
            ),
            {"e": SUBSCRIBER},
        ).scalar_one()
        waiting = (
            session.execute(
                sa.text(
                    "SELECT r.status::text FROM subject_requests r JOIN accounts a "
                    "ON a.id = r.subject_id WHERE a.email = :e"
                ),
                {"e": WAITING},
            )
            .scalars()
            .all()
        )
    assert bound == 1 and waiting == ["in_progress"]

    again = seed(committed, agents[1:], base_url="http://127.0.0.1:8000")
    assert again.password != first.password
    with committed.sessions() as session:
        accounts = session.execute(sa.text("SELECT count(*) FROM accounts")).scalar_one()
        staff = session.execute(sa.text("SELECT count(*) FROM staff_members")).scalar_one()
        requests = session.execute(sa.text("SELECT count(*) FROM subject_requests")).scalar_one()
    assert (accounts, staff, requests) == (2, 1, 1)
    with pytest.raises(AuthenticationFailedError), committed.sessions.begin() as session:
        flows.sign_in(session, ctx, SUBSCRIBER, first.password, address=None)


def test_a_start_after_the_request_was_decided_seeds_a_new_one(committed: Runtime) -> None:
    from doorstep.privacy.requests import services as svc
    from doorstep.privacy.requests.context import RequestContext
    from doorstep.wiring import build_services

    seed(committed, [], base_url="http://127.0.0.1:8000")
    ctx = RequestContext.of(build_services(committed))
    with committed.sessions.begin() as session:
        (decided,) = session.execute(sa.text("SELECT id FROM subject_requests")).scalars()
        svc.refuse(session, ctx, decided, code="IMPRACTICAL", reviewer="staff:desk")
    seed(committed, [], base_url="http://127.0.0.1:8000")
    with committed.sessions() as session:
        waiting = session.execute(
            sa.text("SELECT status::text FROM subject_requests WHERE id <> :d"), {"d": decided}
        ).scalars()
        assert list(waiting) == ["in_progress"], "the README promises a request waiting"


def test_the_banner_shows_claim_codes_of_unbound_devices_only(committed: Runtime) -> None:
    agents = devices_for(UspConfig(), 3)
    with committed.sessions.begin() as session:
        provision(session, committed, agents)
    seeded = seed(committed, agents, base_url="http://127.0.0.1:8000")
    text = banner(
        seeded,
        agents,
        base_url="http://127.0.0.1:8000",
        mailbox="http://127.0.0.1:8000/demo/mailbox",
        data="/tmp/demo (embedded PostgreSQL)",
    )
    assert agents[0].display_claim_code() not in text, "the bound router's code is spent"
    assert f"bound to {SUBSCRIBER}" in text
    for agent in agents[1:]:
        assert agent.display_claim_code() in text
    assert "http://127.0.0.1:8000/demo/mailbox" in text
    assert f"doorstep staff sign-in-link {seeded.officer}" in text, "how to renew the link"
    assert seeded.password in text and seeded.console_link in text
