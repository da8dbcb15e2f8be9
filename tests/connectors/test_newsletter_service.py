"""The demo's newsletter service over real HTTP on loopback (CORP-2.5, CORP-2.6).

Unsubscribing (by the mail's link or the account setting) stops the next
campaign and its tracking; a subscriber who objects to tracking gets no pixel,
and a pixel request from an opted-out subscriber records nothing.  The HTTP
connector reaches the same service with signed calls.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import httpx
import pytest

import doorstep
from doorstep.demo_systems.newsletter import EMAIL, OPENS, Newsletter
from doorstep.demo_systems.newsletter_http import PIXEL, NewsletterServer
from doorstep.privacy.connectors import signing
from doorstep.privacy.connectors.base import ConnectorError, Identifiers, Outcome
from doorstep.privacy.connectors.http import HttpConnector
from doorstep.privacy.datamap.pack import load_pack
from doorstep.privacy.datamap.systems import ConnectedSystem

SECRET = "newsletter-demo-secret"


@pytest.fixture
def service() -> Iterator[NewsletterServer]:
    with NewsletterServer(Newsletter(SECRET)) as server:
        yield server


@pytest.fixture
def client(service: NewsletterServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=service.url, trust_env=False) as http:
        yield http


def _subscribe(client: httpx.Client, email: str, *, tracking: bool = True) -> str:
    answer = client.post("/subscribe", json={"email": email, "tracking": tracking})
    assert answer.status_code == 200
    return str(answer.json()["id"])


def _campaign(client: httpx.Client, title: str) -> tuple[str, int]:
    raw = json.dumps({"title": title}).encode()
    sent = client.post(
        "/campaigns", content=raw, headers=signing.headers(SECRET, int(time.time()), "c", raw)
    )
    assert sent.status_code == 200
    return str(sent.json()["campaign"]), int(sent.json()["recipients"])


def _mail_of(service: NewsletterServer, campaign: str, subscriber: str) -> str | None:
    found = [
        m.html
        for m in service.newsletter.sent
        if m.campaign == campaign and m.subscriber == subscriber
    ]
    return found[0] if found else None


def _pixel_path(html: str) -> str:
    match = re.search(r'<img src="http://[^/]+(/pixel/[^"]+)"', html)
    assert match is not None
    return match.group(1)


@pytest.mark.clause("CORP-2.6")
@pytest.mark.parametrize("how", ["link", "account"])
def test_unsubscribing_stops_the_next_campaign_and_its_tracking(
    service: NewsletterServer, client: httpx.Client, how: str
) -> None:
    leaving = _subscribe(client, "leaving@example.org")
    staying = _subscribe(client, "staying@example.org")
    first, _ = _campaign(client, "November")
    first_mail = _mail_of(service, first, leaving)
    assert first_mail is not None
    pixel = _pixel_path(first_mail)
    assert client.get(pixel).status_code == 200
    assert service.newsletter.get(leaving).opens == [first]  # type: ignore[union-attr]

    # The mail's own links: the unsubscribe link, or the account setting.
    link = re.search(
        rf'href="http://[^/]+(/{"unsubscribe" if how == "link" else "account"}/[^"]+)"', first_mail
    )
    assert link is not None
    form = {"newsletter": "off"} if how == "account" else {}
    assert client.post(link.group(1), data=form or {"confirm": "on"}).status_code == 200

    second, recipients = _campaign(client, "December")
    assert recipients == 1
    assert _mail_of(service, second, leaving) is None
    assert _mail_of(service, second, staying) is not None
    # An old mail's pixel opened after unsubscribing records nothing.
    assert client.get(pixel).content == PIXEL
    record = service.newsletter.get(leaving)
    assert record is not None
    assert record.opens == [first]
    assert [event for event, _, _ in record.history] == ["subscribed", "unsubscribed"]
    assert record.history[-1][2] == how


@pytest.mark.clause("CORP-2.5")
def test_a_subscriber_who_objects_to_tracking_gets_no_pixel_and_records_no_open(
    service: NewsletterServer, client: httpx.Client
) -> None:
    tracked = _subscribe(client, "tracked@example.org")
    objecting = _subscribe(client, "objecting@example.org")
    assert client.post(f"/account/{objecting}", data={"tracking": "off"}).status_code == 200
    campaign, recipients = _campaign(client, "Router tips")
    assert recipients == 2
    tracked_mail = _mail_of(service, campaign, tracked)
    objecting_mail = _mail_of(service, campaign, objecting)
    assert tracked_mail is not None and "/pixel/" in tracked_mail
    assert objecting_mail is not None and "<img" not in objecting_mail
    # Even a forged pixel request for the opted-out subscriber records nothing.
    answer = client.get(f"/pixel/{campaign}/{objecting}.gif")
    assert answer.status_code == 200 and answer.content == PIXEL
    assert service.newsletter.get(objecting).opens == []  # type: ignore[union-attr]
    assert client.get(_pixel_path(tracked_mail)).status_code == 200
    assert service.newsletter.get(tracked).opens == [campaign]  # type: ignore[union-attr]


def test_bad_input_changes_nothing(service: NewsletterServer, client: httpx.Client) -> None:
    someone = _subscribe(client, "someone@example.org")
    assert client.post(f"/account/{someone}", data={"tracking": "maybe"}).status_code == 400
    assert client.post("/account/nobody", data={"tracking": "off"}).status_code == 404
    assert client.post("/subscribe", json={"email": 3}).status_code == 400
    raw = b'{"title": "x"}'
    assert (
        client.post(
            "/campaigns", content=raw, headers=signing.headers("wrong", int(time.time()), "c", raw)
        ).status_code
        == 401
    )
    record = service.newsletter.get(someone)
    assert record is not None and record.subscribed and record.tracking
    assert service.newsletter.sent == []


def _system(url: str) -> ConnectedSystem:
    """The reference pack's newsletter system, pointed at the test's service."""
    pack = load_pack(Path(doorstep.__file__).parent / "policy_pack" / "default")
    return replace(pack.systems.systems["newsletter"], url=url, timeout_seconds=5)


def test_the_http_connector_exports_and_erases_once(
    service: NewsletterServer, client: httpx.Client
) -> None:
    subscriber = _subscribe(client, "reader@example.org")
    campaign, _ = _campaign(client, "News")
    mail = _mail_of(service, campaign, subscriber)
    assert mail is not None
    client.get(_pixel_path(mail))
    who = Identifiers.of(email="reader@example.org")
    connector = HttpConnector(
        _system(service.url), secret=SECRET, idempotency_key="task-1", now=lambda: int(time.time())
    )
    try:
        exported = connector.export(who)
        assert exported.outcome is Outcome.EXPORTED
        assert exported.data == {EMAIL: ["reader@example.org"], OPENS: [1]}
        erased = connector.erase(who)
        assert (erased.outcome, erased.rows) == (Outcome.ERASED, 1)
        again = connector.erase(who)  # a retry under the same key: the first answer
        assert (again.outcome, again.rows) == (Outcome.ERASED, 1)
        assert service.newsletter.get(subscriber) is None
        assert connector.export(who).outcome is Outcome.NOT_FOUND
    finally:
        connector.close()
    wrong = HttpConnector(
        _system(service.url), secret="not-it", idempotency_key="t", now=lambda: int(time.time())
    )
    try:
        with pytest.raises(ConnectorError) as refused:
            wrong.export(who)
        assert refused.value.reason == "refused"
    finally:
        wrong.close()
