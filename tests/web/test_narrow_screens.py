"""Every page at a phone's width (375 CSS pixels): nothing wider than the screen, and
label/value pairs keep room for their values.

At 375 px the devices table used to overflow to 478 px and the device page's label
column squeezed the serial number and MAC address to a few characters per line.
Each page of the privacy center and the console is loaded here at that width with
real content (a bound router, a request, a staff member); a page fails when the
document scrolls sideways or when a value of a ``dl.facts`` list gets less than
half the list's width.  Wide tables of the console scroll inside their own
``.scroll`` box, which is allowed: the page itself does not move.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable

import pytest
from playwright.sync_api import BrowserContext, Page, expect

from doorstep.privacy.requests import services as svc
from doorstep.privacy.requests.context import RequestContext
from tests.web.conftest import LiveServer
from tests.web.people import make_subscriber, sign_in, staff_sign_in
from tests.web.test_quality import PUBLIC_PAGES, SUBSCRIBER_PAGES

WIDTH = 375
DEVICE_URL = re.compile(r".*/devices/([0-9a-f-]{36})\?done=bound$")
DESK = "staff:" + str(uuid.UUID(int=11))

#: What is wider than the screen, ignoring what scrolls inside its own box.
MEASURE = """(width) => {
  const problems = [];
  const doc = document.documentElement;
  if (doc.scrollWidth > width) problems.push('document is ' + doc.scrollWidth + ' px wide');
  const scrolls = (el) => {
    for (let up = el.parentElement; up; up = up.parentElement) {
      const overflow = getComputedStyle(up).overflowX;
      if (overflow === 'auto' || overflow === 'scroll') return true;
    }
    return false;
  };
  for (const el of document.querySelectorAll('body *')) {
    const box = el.getBoundingClientRect();
    if (box.width && box.right > width + 0.5 && !scrolls(el)) {
      const name = el.tagName.toLowerCase() + (el.className ? '.' + el.className : '');
      problems.push(name + ' reaches ' + Math.round(box.right) + ' px');
    }
  }
  for (const dl of document.querySelectorAll('dl.facts')) {
    const room = dl.getBoundingClientRect().width;
    for (const dd of dl.querySelectorAll(':scope > dd')) {
      const got = dd.getBoundingClientRect().width;
      if (got < room / 2) {
        const label = dd.previousElementSibling ? dd.previousElementSibling.textContent : '';
        problems.push('"' + label.trim() + '" value squeezed to ' + Math.round(got) + ' px');
      }
    }
  }
  return problems.slice(0, 8);
}"""


@pytest.fixture
def live_server(serve_live: Callable[..., LiveServer]) -> LiveServer:
    """The device pages need the devices area on a test USP configuration."""
    return serve_live(devices=True)


def _phone(new_context: Callable[..., BrowserContext], live: LiveServer) -> Page:
    context = new_context(viewport={"width": WIDTH, "height": 800}, is_mobile=True)
    # The banner answered: it is measured on the public pages of the first loop.
    context.add_cookies([{"name": "doorstep_cookies", "value": "essential", "url": live.url}])
    return context.new_page()


def _fits(page: Page, path: str) -> list[str]:
    answer = page.goto(path)
    assert answer is not None and answer.ok, path
    return [f"{path}: {problem}" for problem in page.evaluate(MEASURE, WIDTH)]


def _bind(page: Page, claim_code: str) -> uuid.UUID:
    page.goto("/devices")
    page.get_by_label("Claim code").fill(claim_code)
    page.get_by_role("button", name="Add the device").click()
    page.wait_for_url(DEVICE_URL)
    found = DEVICE_URL.match(page.url)
    assert found is not None
    return uuid.UUID(found.group(1))


def _open_request(live: LiveServer, subject_id: uuid.UUID) -> uuid.UUID:
    ctx = RequestContext.of(live.app.state.services)
    with live.runtime.sessions.begin() as session:
        row = svc.open_request(
            session,
            ctx,
            subject_id=subject_id,
            kind="restriction",
            channel="email",
            actor=DESK,
            jurisdiction="gdpr",
            purpose="notification.delivery",
        )
        svc.verify(session, ctx, row.id, method="email_code", actor=DESK)
        return row.id


def test_every_page_fits_a_phone_screen(
    new_context: Callable[..., BrowserContext], live_server: LiveServer
) -> None:
    problems: list[str] = []
    visitor = new_context(viewport={"width": WIDTH, "height": 800}, is_mobile=True).new_page()
    for path in ("/", "/cookies"):  # the cookie banner is up on these
        problems += _fits(visitor, path)

    router, gateway = live_server.add_devices(2)
    person = make_subscriber(live_server.runtime)
    page = _phone(new_context, live_server)
    with live_server.fleet([router, gateway]):
        for path in PUBLIC_PAGES:
            problems += _fits(page, path)
        sign_in(page, person)
        device_id = _bind(page, router.display_claim_code())
        _bind(page, gateway.display_claim_code())
        request_id = _open_request(live_server, person.subject_id)
        for path in (
            *SUBSCRIBER_PAGES,
            f"/devices/{device_id}",
            f"/devices/{device_id}?live=1",
            f"/privacy/requests/{request_id}",
            f"/requests/status/{request_id}",
        ):
            problems += _fits(page, path)
        expect(page.locator("body")).to_be_visible()

        desk = _phone(new_context, live_server)
        staff_sign_in(desk, live_server.runtime, "privacy_officer")
        for path in (
            "/console/requests",
            f"/console/requests/{request_id}",
            "/console/retention",
            "/console/datamap",
            "/console/audit",
            "/console/devices",
        ):
            problems += _fits(desk, path)
        support = _phone(new_context, live_server)
        staff_sign_in(support, live_server.runtime, "support")
        problems += _fits(support, f"/console/devices/{device_id}")
    assert problems == [], "\n".join(problems)
