"""My devices in the browser: bind a router by its code, configure it, see it live, remove it.

The live server runs the devices area on a test USP configuration, and simulated
routers and gateways connect to it over the real WebSocket MTP; what they
received is read from their data model.
"""

from __future__ import annotations

import io
import re
import time
import uuid
from collections.abc import Callable

import pytest
import sqlalchemy as sa
from playwright.sync_api import BrowserContext, Page, expect

from doorstep.core.runtime import Runtime
from doorstep.devices import binding
from doorstep.devices._limits import Limits
from doorstep.devices.inventory import installation_key
from doorstep.usp.agent_sim import Host, SimAgent
from doorstep.web.center import devices as center_devices
from doorstep.wiring import Services
from tests.devices.conftest import dump_database, job_rows, log_lines, with_hosts  # noqa: F401
from tests.web.conftest import LiveServer, screenshot
from tests.web.people import Person, make_subscriber, sign_in

DEVICE_URL = re.compile(r".*/devices/([0-9a-f-]{36})\?done=bound$")
SSID = "Device.WiFi.SSID.1.SSID"
PASSPHRASE = "Device.WiFi.AccessPoint.1.Security.KeyPassphrase"
PPP = "Device.PPP.Interface.1."


@pytest.fixture
def live_server(serve_live: Callable[..., LiveServer]) -> LiveServer:
    """This module's pages need the devices area on a test USP configuration."""
    return serve_live(devices=True)


def _count(runtime: Runtime, query: str, **params: object) -> int:
    with runtime.engine.connect() as connection:
        return int(connection.execute(sa.text(query), params).scalar_one())


def _until(predicate: Callable[[], bool], timeout: float = 15) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "condition not reached in time"
        time.sleep(0.05)


def _bind_by_typing(page: Page, agent: SimAgent) -> uuid.UUID:
    """Type the device's claim code on /devices (as a person copies it); its id."""
    page.goto("/devices")
    page.get_by_label("Claim code").fill(agent.display_claim_code().lower().replace("-", " "))
    page.get_by_role("button", name="Add the device").click()
    page.wait_for_url(DEVICE_URL)
    found = DEVICE_URL.match(page.url)
    assert found is not None
    expect(page.get_by_role("status")).to_contain_text("now bound to your account")
    return uuid.UUID(found.group(1))


@pytest.mark.clause("CPE-V.4.b")
@pytest.mark.clause("CPE-V.4.c")
@pytest.mark.clause("CPE-I.iii.R1")
@pytest.mark.clause("CPE-I.iii.R2")
@pytest.mark.clause("CPE-I.iii.R3")
def test_a_subscriber_binds_configures_restarts_and_removes_a_router(
    page: Page, live_server: LiveServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(center_devices, "LIVE_REFRESH", "1s")  # instead of every 10 s
    runtime = live_server.runtime
    router, gateway = live_server.add_devices(2)
    person = make_subscriber(runtime)  # no camera or location consent: the manual paths
    with live_server.fleet([router, gateway]):
        sign_in(page, person)
        expect(page.get_by_role("heading", level=1)).to_have_text("My devices")
        expect(page.get_by_label("Text of the QR code")).to_have_count(0)
        consents = page.get_by_role("link", name="Allow the camera for scanning in your consents")
        expect(consents).to_have_attribute("href", "/privacy/consents")
        device_id = _bind_by_typing(page, router)
        assert (
            _count(
                runtime,
                "SELECT count(*) FROM device_bindings WHERE device_id = :d AND subject_id = :s "
                "AND method = 'manual' AND unbound_at IS NULL",
                d=device_id,
                s=person.subject_id,
            )
            == 1
        )

        # The list: the router, online, in words.
        page.get_by_role("link", name="Back to my devices").click()
        (row,) = page.get_by_role("row").filter(has_text=router.profile.serial_number).all()
        expect(row).to_contain_text("Online")
        expect(row).to_contain_text("Router")
        expect(row.get_by_role("link", name=router.profile.model_name)).to_have_attribute(
            "href", f"/devices/{device_id}"
        )
        expect(page.get_by_role("row")).to_have_count(2)  # the header and the router
        screenshot(page, "devices-list")

        # The device page; with JavaScript the connected devices arrive by themselves.
        row.get_by_role("link", name=router.profile.model_name).click()
        expect(page.get_by_role("heading", level=1)).to_have_text(router.profile.model_name)
        live = page.locator("#live").get_by_role("table")
        hosts = router.profile.hosts
        for host in hosts:
            if host.active:
                expect(live).to_contain_text(host.host_name)
                expect(live).to_contain_text(host.phys_address)
        assert not hosts[2].active
        expect(live).not_to_contain_text(hosts[2].host_name)
        expect(page.get_by_text("No credentials are stored.")).to_be_visible()
        screenshot(page, "devices-device")
        # It refreshes by itself: a terminal that connects shows up without a reload.
        router.model.values["Device.Hosts.Host.3.Active"] = "true"
        expect(live).to_contain_text(hosts[2].host_name)

        # Wi-Fi: a password too short changes nothing; a good one reaches the device.
        before = router.model.values[SSID]
        page.get_by_label("Network name (SSID)").fill("canary-net-7f3a")
        page.get_by_label("Wi-Fi password").fill("short")
        page.get_by_role("button", name="Set the Wi-Fi").click()
        expect(page.get_by_role("alert")).to_contain_text("correct what is marked")
        expect(page.get_by_text("Use 8 to 63 characters")).to_be_visible()
        assert router.model.values[SSID] == before
        page.get_by_label("Wi-Fi password").fill("a long wifi pass")
        page.get_by_role("button", name="Set the Wi-Fi").click()
        expect(page.get_by_role("status").first).to_contain_text("new Wi-Fi name and password")
        assert router.model.values[SSID] == "canary-net-7f3a"
        assert router.model.values[PASSPHRASE] == "a long wifi pass"
        assert "a long wifi pass" not in page.content()

        # PPPoE: sent to the device, kept sealed, never shown again.
        username, password = f"isp-{uuid.uuid4().hex[:8]}", f"pw-{uuid.uuid4().hex[:12]}"
        page.get_by_label("PPPoE user name").fill(username)
        page.get_by_label("PPPoE password").fill(password)
        page.get_by_role("button", name="Send to the device").click()
        expect(page.get_by_role("status").first).to_contain_text("Internet access settings")
        assert router.model.values[PPP + "Username"] == username
        assert router.model.values[PPP + "Password"] == password
        expect(page.get_by_text("Credentials are stored; they were set on")).to_be_visible()
        html = page.content()
        assert username not in html and password not in html
        with runtime.engine.connect() as connection:
            (stored,) = connection.execute(
                sa.text("SELECT username, password FROM device_pppoe")
            ).all()
        assert username.encode() not in stored.username
        assert password.encode() not in stored.password

        # Restart: the device goes away and comes back.
        sessions = router.sessions
        page.get_by_role("button", name="Restart the device").click()
        expect(page.get_by_role("status").first).to_contain_text("restarting")
        _until(lambda: router.sessions > sessions)

        # Remove: a confirmation that says what happens, then the credentials are gone.
        page.get_by_role("link", name="Remove this device from my account").click()
        expect(page.get_by_role("heading", level=1)).to_have_text(
            "Remove this device from your account?"
        )
        expect(page.get_by_text("deleted at once")).to_be_visible()
        expect(page.get_by_text("Credentials are stored for this device now.")).to_be_visible()
        screenshot(page, "devices-unbind")
        # Removing the settings from the device itself is offered, ticked (decision 0042);
        # this subscriber keeps them on the device (tests/fleet/test_wipe_center.py wipes).
        wipe = page.get_by_label("Also remove my settings from the device")
        expect(wipe).to_be_checked()
        wipe.uncheck()
        page.get_by_role("button", name="Remove the device").click()
        page.wait_for_url("**/devices?done=unbound")
        expect(page.get_by_role("status").first).to_contain_text("removed from your account")
        expect(page.get_by_role("link", name=router.profile.model_name)).to_have_count(0)
    assert _count(runtime, "SELECT count(*) FROM device_pppoe") == 0
    assert (
        _count(
            runtime,
            "SELECT count(*) FROM device_bindings WHERE device_id = :d AND unbound_at IS NOT NULL",
            d=device_id,
        )
        == 1
    )
    # the device keeps its own configuration: only the cloud copy is gone
    assert router.model.values[PPP + "Username"] == username


def test_a_wrong_claim_code_is_refused_counted_and_binds_nothing(
    page: Page, live_server: LiveServer
) -> None:
    runtime = live_server.runtime
    (agent,) = live_server.add_devices(1)
    person = make_subscriber(runtime)
    sign_in(page, person)
    wrong = "QQQQQ-WWWWW-EEEEE-RRRRR"
    assert wrong.replace("-", "") != agent.claim_code
    # By keyboard alone: tab to the field, type, tab to the button, press Enter.
    page.get_by_label("Claim code").focus()
    page.keyboard.type(wrong)
    page.keyboard.press("Tab")
    expect(page.get_by_role("button", name="Add the device")).to_be_focused()
    page.keyboard.press("Enter")
    expect(page.get_by_role("alert")).to_contain_text("does not match a device")
    expect(page.get_by_text("4 attempts left")).to_be_visible()
    expect(page.get_by_label("Claim code")).to_have_value("")  # the code is not echoed
    screenshot(page, "devices-bind-error")
    assert page.url.endswith("/devices/bind")
    assert _count(runtime, "SELECT count(*) FROM device_bindings") == 0
    limits = Limits.from_settings(runtime.settings)
    assert limits.subscriber_max == 5
    assert (
        _count(
            runtime,
            "SELECT failures FROM device_claim_limits WHERE subject_id = :s",
            s=person.subject_id,
        )
        == 1
    )


def _bind_directly(
    runtime: Runtime, services: Services, person: Person, agent: SimAgent
) -> uuid.UUID:
    with runtime.sessions.begin() as session:
        bound = binding.bind(
            session,
            services.gate,
            Limits.from_settings(runtime.settings),
            key=installation_key(runtime.settings),
            subject_id=person.subject_id,
            claim=binding.Claim(None, agent.claim_code),
            now=runtime.clock.now(),
        )
    return bound.device_id


@pytest.mark.clause("CPE-I.iii.R5")
def test_another_subscriber_cannot_open_or_query_my_device(
    page: Page, live_server: LiveServer
) -> None:
    runtime = live_server.runtime
    (agent,) = live_server.add_devices(1)
    owner, stranger = make_subscriber(runtime), make_subscriber(runtime)
    device_id = _bind_directly(runtime, live_server.app.state.services, owner, agent)
    sign_in(page, stranger)
    expect(page.get_by_role("table")).to_have_count(0)  # nothing listed for them
    for path in ("", "/status", "/unbind", "?live=1"):
        answer = page.goto(f"/devices/{device_id}{path}")
        assert answer is not None and answer.status == 404, path
        expect(page.get_by_role("heading", level=1)).to_have_text("Sorry")
        expect(page.get_by_text("There is no such page.")).to_be_visible()
    assert page.goto("/devices/not-a-device-id").status == 404  # type: ignore[union-attr]


@pytest.mark.clause("CPE-V.4.b")
@pytest.mark.clause("CPE-I.iii.R6")
def test_binding_and_the_live_status_work_without_javascript(
    new_context: Callable[..., BrowserContext],
    live_server: LiveServer,
    log_lines: io.StringIO,  # noqa: F811 - the fixture, imported from tests.devices
) -> None:
    runtime = live_server.runtime
    (plain,) = live_server.add_devices(1)
    # Not the clause's own example name: the policy pack's text (clauses.yaml) is stored
    # with each policy version, so a name it quotes is in the database by design.
    canary = Host("CANARY-HOST-7Q3K", "0a:ca:4a:91:00:01", "192.168.1.91")
    agent = with_hosts(plain, [canary])
    page = new_context(java_script_enabled=False).new_page()
    person = make_subscriber(runtime)
    with live_server.fleet([agent]):
        sign_in(page, person)
        device_id = _bind_by_typing(page, agent)
        show = page.get_by_role("link", name="Show connected devices")
        expect(show).to_have_attribute("href", f"/devices/{device_id}?live=1#connected")
        expect(page.get_by_text(canary.host_name)).to_have_count(0)  # not asked yet
        show.click()
        live = page.locator("#live").get_by_role("table")
        expect(live).to_contain_text(canary.host_name)
        expect(live).to_contain_text(canary.phys_address)
        expect(page.get_by_text("never stored")).to_be_visible()
        screenshot(page, "devices-live-status")
    # Shown to the owner, kept nowhere: not in the database, the jobs or the logs.
    dump = dump_database(runtime)
    for value in (canary.host_name, canary.phys_address):
        assert value not in dump
        assert value not in job_rows(runtime)
        assert value not in log_lines.getvalue()
