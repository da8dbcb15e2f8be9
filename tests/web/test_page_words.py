"""Pages speak to their reader: subscribers never see the data map's labels, the console
shows one label per code, and an approved request no longer offers approve and refuse.

* The privacy center said "Precise Subject Location" (a taxonomy name) and "Show the
  optional profile *the subscriber* chose" (the record of processing's words).  Every
  purpose and kind of data a subscriber page shows now has words of its own, marked
  for translation (``web.center.wording.PURPOSES`` and ``CATEGORIES``).
* The console's request page said "Deletion deletion" and "In progress in_progress".
* After approval of an export or an erasure the approve and refuse buttons stayed
  until the worker finished; the page now says the request is being carried out.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from doorstep.core.clock import FakeClock
from doorstep.core.runtime import Runtime
from doorstep.privacy.datamap.pack import default_pack
from doorstep.privacy.datamap.taxonomy import category_name
from doorstep.privacy.requests import fulfil
from doorstep.privacy.requests import services as svc
from doorstep.privacy.requests.codes import ErasureGround
from doorstep.privacy.requests.context import RequestContext
from doorstep.web.center import wording as words
from doorstep.web.console.wording import KINDS, STATUSES
from tests.packs import reference_terms
from tests.requests.conftest import STAFF, new_subject
from tests.web.clients import page_client, sign_in_as
from tests.web.people import make_subscriber
from tests.web.test_console_access import console_sign_in, csrf_of

#: Words of the record of processing that must not reach a subscriber.
RECORD_WORDS = re.compile(r"\bthe subscriber\b|\bsubscriber's\b|\bdata subject\b", re.I)


@pytest.fixture
def client(runtime: Runtime) -> Iterator[TestClient]:
    """The app on the test's transaction (no job worker); redirects are not followed."""
    with page_client(runtime, follow_redirects=False) as test_client:
        yield test_client


def test_every_purpose_and_kind_of_data_has_words_for_the_subscriber() -> None:
    pack = default_pack()
    assert set(pack.purposes) <= set(words.PURPOSES), "a purpose without subscriber words"
    for key in pack.purposes:
        said = words.purpose(pack, key)
        assert said != pack.purposes[key].description and not RECORD_WORDS.search(said), key
    categories = {key for item in reference_terms().purposes.values() for key in item.categories}
    assert categories <= set(words.CATEGORIES), "a kind of data without subscriber words"
    for key in categories:
        assert words.category(key) != category_name(key), key


def test_the_consents_page_shows_no_data_map_label(client: TestClient, runtime: Runtime) -> None:
    person = make_subscriber(runtime)
    sign_in_as(client, person, then="/privacy")
    page = client.get("/privacy/consents").text
    terms = reference_terms()
    labels = {category_name(key) for item in terms.purposes.values() for key in item.categories}
    shown = [label for label in labels if label in page]
    assert shown == [], f"data-map category names on the page: {shown}"
    assert not RECORD_WORDS.search(page), RECORD_WORDS.search(page)
    assert "your phone&#39;s precise location" in page or "your phone's precise location" in page


def test_the_restriction_form_offers_purposes_in_the_subscribers_words(
    client: TestClient, runtime: Runtime
) -> None:
    sign_in_as(client, make_subscriber(runtime), then="/privacy")
    page = client.get("/privacy/requests").text
    options = re.findall(r"<option value=\"[a-z_.]+\"[^>]*>([^<]+)</option>", page)
    assert options, "the page offers no purpose"
    assert not [text for text in options if RECORD_WORDS.search(text)]


def _open(db: Session, runtime: Runtime, kind: str) -> uuid.UUID:
    from doorstep.wiring import build_services

    ctx = RequestContext.of(build_services(runtime))
    row = svc.open_request(
        db,
        ctx,
        subject_id=new_subject(db),
        kind=kind,
        channel="email",
        actor=STAFF,
        ground=ErasureGround.NO_PERMISSION.value if kind == "deletion" else None,
        jurisdiction="gdpr",
    )
    row = svc.verify(db, ctx, row.id, method="email_code", actor=STAFF)
    fulfil.start(db, ctx, row)  # an automatic kind (access) is carried out at once
    return row.id


def test_the_console_shows_one_label_per_kind_and_status(
    client: TestClient, db: Session, clock: FakeClock, runtime: Runtime
) -> None:
    request_id = _open(db, runtime, "deletion")
    console_sign_in(client, db, clock, "privacy_officer")
    page = client.get(f"/console/requests/{request_id}").text
    facts = dict(re.findall(r"<dt>([^<]+)</dt><dd>(.*?)</dd>", page))
    assert facts["Kind"] == KINDS["deletion"] == "Deletion"
    assert facts["Status"] == STATUSES["in_progress"] == "In progress"
    assert "in_progress" not in page and "<code>deletion</code>" not in page


@pytest.mark.parametrize("kind", ["deletion", "access"])
def test_an_approved_request_shows_it_is_being_carried_out_not_the_buttons(
    client: TestClient, db: Session, clock: FakeClock, runtime: Runtime, kind: str
) -> None:
    request_id = _open(db, runtime, kind)
    console_sign_in(client, db, clock, "privacy_officer")
    page = client.get(f"/console/requests/{request_id}").text
    if kind == "deletion":  # waits for the desk; access starts at once (automatic)
        assert "Approve the request" in page
        approved = client.post(
            f"/console/requests/{request_id}/approve", data={"csrf_token": csrf_of(page)}
        )
        assert approved.status_code == 303
        page = client.get(approved.headers["location"]).text
    assert "Being carried out" in page
    for gone in ("Approve the request", "Refuse the request", "Extend the deadline"):
        assert gone not in page, gone
