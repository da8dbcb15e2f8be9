"""The device page's "Test the connection": a subscriber pings, traces and tests the speed.

The live server runs the devices area and its fleet executor; a simulated router
connects over the real WebSocket MTP and answers the TR-181 diagnostics (decision
0041).  The page shows each result the device gave; a trace route's result is shown
once, in the answer to the form, and is not there when the page is opened again.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable

import pytest
import sqlalchemy as sa
from playwright.sync_api import Page, expect
from sqlalchemy.orm import Session

from doorstep import __version__
from doorstep.audit.entries import subject_actor
from doorstep.core.runtime import Runtime
from doorstep.devices.fleet.diagnostics import Context, Ground, start_run
from doorstep.devices.fleet.diagnostics_models import RunState
from doorstep.devices.fleet.diagnostics_origin import finish_run
from doorstep.services import services_for
from doorstep.usp.agent_sim import SimAgent
from tests.web.clients import page_client
from tests.web.conftest import LiveServer, screenshot
from tests.web.people import make_subscriber, sign_in
from tests.web.test_center_devices import _bind_by_typing
from tests.web.test_center_devices_forms import agent, bind, post, signed_in  # noqa: F401
from tests.web.test_center_devices_forms import untranslated as pseudo_left

CANARY = "canary-route-5m2p.example"


@pytest.fixture
def live_server(serve_live: Callable[..., LiveServer]) -> LiveServer:
    """This module's pages need the devices area on a test USP configuration."""
    return serve_live(devices=True)


def _count(runtime: Runtime, query: str) -> int:
    with runtime.sessions() as session:
        return int(session.execute(sa.text(query)).scalar_one())


def _run(page: Page, test: str, host: str = "") -> None:
    page.get_by_label("Test", exact=True).select_option(label=test)
    page.get_by_label("Host (for a ping or a trace route)").fill(host)
    page.get_by_role("button", name="Run the test").click()


def test_a_subscriber_tests_the_connection_of_their_router(
    page: Page, live_server: LiveServer
) -> None:
    runtime = live_server.runtime
    (router,) = live_server.add_devices(1)
    person = make_subscriber(runtime)
    with live_server.fleet([router]):
        sign_in(page, person)
        device_id = _bind_by_typing(page, router)
        section = page.locator("#diagnostics")
        expect(section.get_by_text("No tests yet.")).to_be_visible()

        # A host that is not a name: marked, nothing stored or queued.
        _run(page, "Ping a host (round-trip time)", "example .org")
        expect(section.get_by_role("alert")).to_contain_text("correct what is marked")
        expect(section.get_by_text("Enter a host name like example.org")).to_be_visible()
        assert _count(runtime, "SELECT count(*) FROM diagnostic_runs") == 0

        _run(page, "Ping a host (round-trip time)", "example.org")
        rows = section.get_by_role("row")
        expect(rows.nth(1)).to_contain_text("Ping")
        expect(rows.nth(1)).to_contain_text(re.compile(r"4 of 4 answers; average [0-9.]+ ms"))
        _run(page, "Download speed test")
        expect(rows.nth(1)).to_contain_text("Download speed")
        expect(rows.nth(1)).to_contain_text(re.compile(r"[0-9.]+ Mbit/s"))
        _run(page, "Trace the route to a host", CANARY)
        expect(rows.nth(1)).to_contain_text("hops to the host")
        expect(section.locator("ol.hops li").last).to_contain_text(CANARY)
        screenshot(page, "devices-diagnostics")

        # Opened again: the route is not kept, the ping and the speed test are.
        page.goto(f"/devices/{device_id}#diagnostics")
        expect(rows).to_have_count(4)  # the header and three runs
        expect(rows.nth(1)).to_contain_text("Not kept: shown only to whoever waited for it.")
        expect(section.get_by_text(CANARY)).to_have_count(0)
        expect(rows.nth(2)).to_contain_text("Mbit/s")
        expect(rows.nth(3)).to_contain_text("4 of 4 answers")
    stored = "SELECT count(*) FROM diagnostic_runs WHERE result IS NOT NULL"
    assert _count(runtime, stored) == 2


def test_the_section_speaks_the_subscribers_language_and_refuses_other_devices(
    runtime: Runtime,
    agent: SimAgent,  # noqa: F811 - the fixture, imported from the devices forms' tests
) -> None:
    """Without a browser: every word of the section translatable, a stranger gets 404."""
    with page_client(runtime) as client:
        signed_in(client, runtime)
        device_id = bind(client, agent)
        with runtime.sessions.begin() as session:
            ids = [
                start_run(session, device_id, kind, inputs, ground=Ground.owner(),
                          actor=_owner_actor(session, device_id),
                          context=Context.of(services_for(runtime)))
                for kind, inputs in (("ping", {"host": "example.org"}), ("download", {}),
                                     ("traceroute", {"host": "example.org"}))
            ]  # fmt: skip
            results = [
                {"status": "Complete", "sent": 4, "received": 4, "average_ms": 18.2,
                 "minimum_ms": 17.0, "maximum_ms": 21.3},
                {"status": "Error_CannotResolveHostName"},
                {"status": "Complete", "hops": [{"hop": 1, "host": "h", "address": "a",
                                                 "rtt_ms": [1], "error_code": 0}]},
            ]  # fmt: skip
            for run_id, result in zip(ids, results, strict=True):
                finish_run(session, run_id, RunState.SUCCEEDED, now=runtime.clock.now(),
                           result=result)  # fmt: skip
        here = f"/devices/{device_id}"
        client.app.state.web_language = "x-pseudo"  # type: ignore[attr-defined]
        pages = [client.get(here), post(client, f"{here}/diagnostics", kind="ping", host="a b")]
        assert pages[1].status_code == 422
        for answer in pages:
            left = pseudo_left(answer.text)
            data = {"Doorstep", __version__, "UTC", "·", "—", "example.org",
                    agent.profile.serial_number, str(device_id)}  # fmt: skip
            words = [w for w in left.split() if w not in data and not re.fullmatch(r"[\d:.,-]+", w)]
            assert not words, (str(answer.url), words)
        client.app.state.web_language = None  # type: ignore[attr-defined]
        client.cookies.clear()
        signed_in(client, runtime)
        stranger = post(client, f"{here}/diagnostics", kind="ping", host="example.org")
        assert stranger.status_code == 404
    assert _count(runtime, "SELECT count(*) FROM diagnostic_runs") == 3


def _owner_actor(session: Session, device_id: uuid.UUID) -> str:
    owner = session.execute(
        sa.text("SELECT subject_id FROM device_bindings WHERE device_id = :d"), {"d": device_id}
    ).scalar_one()
    return subject_actor(owner)
