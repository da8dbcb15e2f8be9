"""My devices without a browser: what each form refuses, lockouts, offline devices, strangers.

The whole app on the test's rolled-back transaction (TestClient); the subscriber
signs in through the sign-in form and every POST carries the page's CSRF token.
The devices are in the inventory but never connect, so they are offline.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from html.parser import HTMLParser

import httpx
import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from doorstep import __version__
from doorstep.core.runtime import Runtime
from doorstep.privacy.restrictions.services import restrict
from doorstep.usp.agent_sim import SimAgent
from doorstep.usp.config import UspConfig
from tests.devices.conftest import consent, devices_for, provision
from tests.packs import reference_pack
from tests.web.clients import page_client, sign_in_as, token_in
from tests.web.people import Person, make_subscriber

TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')
WRONG = "QQQQQ-WWWWW-EEEEE-RRRRR"


@pytest.fixture
def client(runtime: Runtime) -> Iterator[TestClient]:
    """The app on the test's rolled-back transaction."""
    with page_client(runtime) as test_client:
        yield test_client


@pytest.fixture
def agent(runtime: Runtime) -> SimAgent:
    """A device in the inventory (it never connects)."""
    (made,) = devices_for(UspConfig(), 1)
    with runtime.sessions.begin() as session:
        provision(session, runtime, [made])
    assert WRONG.replace("-", "") != made.claim_code
    return made


def sign_in(client: TestClient, person: Person) -> None:
    """Sign in through the form, as a browser does."""
    sign_in_as(client, person, then="/devices")


def post(client: TestClient, path: str, **data: str) -> httpx.Response:
    """POST a form of the devices pages with this browser's token."""
    token = token_in(client.get("/devices").text)
    return client.post(path, data={"csrf_token": token, **data}, follow_redirects=False)


def signed_in(client: TestClient, runtime: Runtime) -> Person:
    """A new subscriber, signed in on ``client``."""
    person = make_subscriber(runtime)
    sign_in(client, person)
    return person


def bind(client: TestClient, agent: SimAgent) -> uuid.UUID:
    """Bind ``agent`` by its typed code; the device id."""
    answer = post(client, "/devices/bind", claim_code=agent.display_claim_code())
    assert answer.status_code == 303, answer.text
    found = re.fullmatch(r"/devices/([0-9a-f-]{36})\?done=bound", answer.headers["location"])
    assert found is not None
    return uuid.UUID(found.group(1))


def _scalar(db: Session, query: str, **params: object) -> object:
    return db.execute(sa.text(query), params).scalar_one_or_none()


def test_wrong_codes_count_lock_binding_and_the_page_says_for_how_long(
    client: TestClient, runtime: Runtime, db: Session, agent: SimAgent
) -> None:
    person = signed_in(client, runtime)
    # Not a code at all: named on the field, not counted.
    malformed = post(client, "/devices/bind", claim_code="abc")
    assert malformed.status_code == 422
    assert "The code has 20 letters and digits" in malformed.text
    assert 'aria-invalid="true"' in malformed.text
    assert _scalar(db, "SELECT count(*) FROM device_claim_limits") == 0
    limit = runtime.settings.device_claim_max_failures
    for attempt in range(1, limit):
        wrong = post(client, "/devices/bind", claim_code=WRONG)
        assert wrong.status_code == 422
        assert "does not match a device" in wrong.text
        assert f"{limit - attempt} attempt" in wrong.text
        assert WRONG not in wrong.text  # what was typed is not sent back
    last = post(client, "/devices/bind", claim_code=WRONG)
    assert last.status_code == 422
    assert "Too many wrong codes" in last.text and "15 minutes" in last.text
    # Locked: even the right code is refused, and the page says how long to wait.
    locked = post(client, "/devices/bind", claim_code=agent.display_claim_code())
    assert locked.status_code == 429
    assert "Too many wrong codes" in locked.text
    assert "You can try again in 15 minutes." in locked.text
    assert agent.claim_code not in locked.text
    assert _scalar(db, "SELECT count(*) FROM device_bindings") == 0
    failures = "SELECT failures FROM device_claim_limits WHERE subject_id = :s"
    assert _scalar(db, failures, s=person.subject_id) == limit
    refused = "SELECT count(*) FROM audit_events WHERE action = 'devices.claim_failed'"
    assert _scalar(db, refused) == limit


def test_an_offline_device_says_so_instead_of_failing(
    client: TestClient, runtime: Runtime, db: Session, agent: SimAgent
) -> None:
    signed_in(client, runtime)
    device_id = bind(client, agent)
    page = client.get(f"/devices/{device_id}?done=bound")
    assert page.status_code == 200
    assert "The device is now bound to your account." in page.text
    assert "Not connected yet" in page.text
    assert "The device is offline, so it cannot say what is connected to it." in page.text
    assert "hx-get" not in page.text  # nothing to refresh from a device that is away
    asked = client.get(f"/devices/{device_id}?live=1")
    assert asked.status_code == 200 and "The device is offline" in asked.text
    fragment = client.get(f"/devices/{device_id}/status", headers={"HX-Request": "true"})
    assert fragment.status_code == 200
    assert "not connected right now" in fragment.text and "<html" not in fragment.text
    assert fragment.headers["vary"] == "HX-Request"
    wifi = post(
        client, f"/devices/{device_id}/wifi", ssid="canary-net-7f3a", passphrase="long enough"
    )
    assert wifi.status_code == 503
    assert "The device is not connected right now." in wifi.text
    assert "long enough" not in wifi.text
    pppoe = post(client, f"/devices/{device_id}/pppoe", username="isp-user", password="isp-pw")
    assert pppoe.status_code == 503 and "not connected right now" in pppoe.text
    assert "isp-user" not in pppoe.text and "isp-pw" not in pppoe.text
    assert _scalar(db, "SELECT count(*) FROM device_pppoe") == 0
    restart = post(client, f"/devices/{device_id}/reboot")
    assert restart.status_code == 503 and "not connected right now" in restart.text


def test_forms_name_each_field_they_refuse_and_change_nothing(
    client: TestClient, runtime: Runtime, db: Session, agent: SimAgent
) -> None:
    signed_in(client, runtime)
    empty = post(client, "/devices/bind", claim_code="  ")
    assert empty.status_code == 422 and "Type the code printed on the label." in empty.text
    device_id = bind(client, agent)
    pppoe = post(client, f"/devices/{device_id}/pppoe", username="", password="")
    assert pppoe.status_code == 422
    assert pppoe.text.count("This field is required.") == 2
    assert 'id="f-username-error"' in pppoe.text and 'id="f-password-error"' in pppoe.text
    accented = post(client, f"/devices/{device_id}/pppoe", username="jürgen", password="pw")
    assert accented.status_code == 422
    assert "symbols without accents" in accented.text and "jürgen" not in accented.text
    long_name = "n" * 33
    wifi = post(client, f"/devices/{device_id}/wifi", ssid=long_name, passphrase="short")
    assert wifi.status_code == 422
    assert "Use 1 to 32 characters" in wifi.text and "Use 8 to 63 characters" in wifi.text
    assert f'value="{long_name}"' in wifi.text  # the network name is kept to correct it
    assert _scalar(db, "SELECT count(*) FROM device_pppoe") == 0


def test_a_form_without_its_token_changes_nothing(
    client: TestClient, runtime: Runtime, db: Session, agent: SimAgent
) -> None:
    signed_in(client, runtime)
    forged = client.post("/devices/bind", data={"claim_code": agent.claim_code})
    assert forged.status_code == 403
    assert _scalar(db, "SELECT count(*) FROM device_bindings") == 0
    device_id = bind(client, agent)
    for path in ("unbind", "reboot", "pppoe", "wifi"):
        answer = client.post(f"/devices/{device_id}/{path}", data={"csrf_token": "s.forged"})
        assert answer.status_code == 403, path
    open_bindings = "SELECT count(*) FROM device_bindings WHERE unbound_at IS NULL"
    assert _scalar(db, open_bindings) == 1


@pytest.mark.clause("CPE-I.iii.R5")
def test_every_device_route_is_a_404_for_someone_else(
    client: TestClient, runtime: Runtime, db: Session, agent: SimAgent
) -> None:
    signed_in(client, runtime)
    device_id = bind(client, agent)
    client.cookies.clear()
    signed_in(client, runtime)
    mine = client.get("/devices")
    assert str(device_id) not in mine.text and agent.profile.serial_number not in mine.text
    for path in ("", "?live=1", "/status", "/unbind"):
        assert client.get(f"/devices/{device_id}{path}").status_code == 404, path
    fragment = client.get(f"/devices/{device_id}/status", headers={"HX-Request": "true"})
    assert fragment.status_code == 404
    forms = {
        "unbind": {},
        "reboot": {},
        "pppoe": {"username": "isp-user", "password": "isp-pw"},
        "wifi": {"ssid": "someone-else", "passphrase": "long enough"},
    }
    for path, data in forms.items():
        answer = post(client, f"/devices/{device_id}/{path}", **data)
        assert answer.status_code == 404, path
        assert "There is no such page." in answer.text
    taken = post(client, "/devices/bind", claim_code=agent.claim_code)
    assert taken.status_code == 409 and "belongs to another account" in taken.text
    open_bindings = "SELECT count(*) FROM device_bindings WHERE unbound_at IS NULL"
    assert _scalar(db, open_bindings) == 1
    assert client.get("/devices/not-a-uuid").status_code == 404


def test_the_qr_code_is_offered_and_accepted_only_with_the_camera_consent(
    client: TestClient, runtime: Runtime, db: Session, agent: SimAgent
) -> None:
    person = signed_in(client, runtime)
    page = client.get("/devices")
    assert "data-qr-scan" not in page.text and 'name="qr_payload"' not in page.text
    assert 'href="/privacy/consents"' in page.text
    refused = post(client, "/devices/bind", qr_payload=agent.claim_payload())
    assert refused.status_code == 403
    assert "Scanning the QR code needs your consent to use the camera." in refused.text
    assert 'role="alert"' in refused.text
    audited = "SELECT count(*) FROM audit_events WHERE purpose = :p AND outcome = 'refused'"
    assert _scalar(db, audited, p="device.qr_camera") == 1  # the refusal is on record
    assert _scalar(db, "SELECT count(*) FROM device_bindings") == 0
    with runtime.sessions.begin() as session:
        consent(session, runtime, person.subject_id, "device.qr_camera")
    page = client.get("/devices")
    assert 'data-qr-scan="f-qr_payload"' in page.text
    assert 'data-qr-video="qr-video"' in page.text and '<video id="qr-video"' in page.text
    assert 'name="claim_code"' in page.text  # typing stays possible
    bound = post(client, "/devices/bind", qr_payload=agent.claim_payload())
    assert bound.status_code == 303
    assert _scalar(db, "SELECT method::text FROM device_bindings") == "qr"
    again = post(client, "/devices/bind", claim_code=agent.claim_code)
    assert again.status_code == 303 and again.headers["location"].endswith("?done=already_bound")


def test_unbinding_asks_first_then_ends_the_binding(
    client: TestClient, runtime: Runtime, db: Session, agent: SimAgent
) -> None:
    signed_in(client, runtime)
    device_id = bind(client, agent)
    confirm = client.get(f"/devices/{device_id}/unbind")
    assert confirm.status_code == 200
    assert (
        "deleted at once" in confirm.text and "None are stored for this device now." in confirm.text
    )
    assert _scalar(db, "SELECT count(*) FROM device_bindings WHERE unbound_at IS NULL") == 1
    gone = post(client, f"/devices/{device_id}/unbind")
    assert gone.status_code == 303 and gone.headers["location"] == "/devices?done=unbound"
    listed = client.get(gone.headers["location"])
    assert "removed from your account" in listed.text and str(device_id) not in listed.text
    assert _scalar(db, "SELECT count(*) FROM device_bindings WHERE unbound_at IS NULL") == 0
    assert client.get(f"/devices/{device_id}").status_code == 404


def test_signed_out_browsers_are_sent_to_sign_in(client: TestClient) -> None:
    answer = client.get("/devices", follow_redirects=False)
    assert answer.status_code == 303
    assert answer.headers["location"] == "/signin?next=%2Fdevices"


def test_the_pages_use_device_data_only_through_the_purpose_gate(
    client: TestClient, runtime: Runtime, db: Session, agent: SimAgent
) -> None:
    person = signed_in(client, runtime)
    device_id = bind(client, agent)
    with runtime.sessions.begin() as session:
        restrict(
            session,
            subject_id=person.subject_id,
            purpose="device.internet_access",
            reason="objection",
            clock=runtime.clock,
            actor="system:tests",
            pack=reference_pack(),
        )
    page = client.get(f"/devices/{device_id}")
    assert page.status_code == 200  # the rest of the page still works
    assert "Whether credentials are stored cannot be shown right now." in page.text
    refused = post(client, f"/devices/{device_id}/pppoe", username="isp-user", password="isp-pw")
    assert refused.status_code == 403
    assert "This use of your data is switched off for your account" in refused.text
    assert _scalar(db, "SELECT count(*) FROM device_pppoe") == 0
    audited = "SELECT count(*) FROM audit_events WHERE purpose = :p AND outcome = 'refused'"
    # refused and on record: the page's read, the change, and the read of the page shown again
    assert _scalar(db, audited, p="device.internet_access") == 3


class _VisibleText(HTMLParser):
    """The text a person sees or hears: text nodes and labelling attributes, no scripts."""

    def __init__(self) -> None:
        super().__init__()
        self.hidden = 0
        self.parts: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.hidden += tag in ("script", "style")
        self.parts += [v for k, v in attrs if k in ("aria-label", "title", "alt") and v]

    def handle_endtag(self, tag: str) -> None:
        self.hidden -= tag in ("script", "style")

    def handle_data(self, data: str) -> None:
        if not self.hidden and data.strip():
            self.parts.append(data.strip())


def untranslated(html: str) -> str:
    """What is left of the visible text once every ``⟦…⟧`` (translated) part is taken out."""
    parser = _VisibleText()
    parser.feed(html)
    text, previous = " ".join(parser.parts), ""
    while text != previous:
        previous, text = text, re.sub(r"⟦[^⟦⟧]*⟧", "", text)
    return text


def test_every_visible_string_of_the_pages_is_translatable(
    client: TestClient, runtime: Runtime, agent: SimAgent
) -> None:
    person = signed_in(client, runtime)
    with runtime.sessions.begin() as session:
        consent(session, runtime, person.subject_id, "device.qr_camera")
    device_id = bind(client, agent)
    here = f"/devices/{device_id}"
    client.app.state.web_language = "x-pseudo"  # type: ignore[attr-defined]
    pages = [
        client.get("/devices?done=unbound"),
        client.get(f"{here}?done=bound"),
        client.get(f"{here}?live=1"),
        client.get(f"{here}/status", headers={"HX-Request": "true"}),
        client.get(f"{here}/unbind"),
        post(client, "/devices/bind", claim_code=WRONG),
        post(client, "/devices/bind", qr_payload="DOORSTEP1:nonsense"),
        post(client, f"{here}/wifi", ssid="", passphrase="short"),
        post(client, f"{here}/pppoe", username="isp-user", password="isp-pw"),
    ]
    data = {
        "Doorstep",
        __version__,
        "UTC",
        "·",
        "—",
        agent.profile.serial_number,
        str(device_id),
    }
    for answer in pages:
        assert "⟦" in answer.text, answer.url
        left = untranslated(answer.text)
        words = [w for w in left.split() if w not in data and not re.fullmatch(r"[\d:.-]+", w)]
        assert not words, (str(answer.url), words)
