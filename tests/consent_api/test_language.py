"""A German account reads its consent terms in German where the pack translates them."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from doorstep.core.runtime import Runtime
from doorstep.privacy.consent.services import notice_hash
from doorstep.privacy.datamap.pack import DEFAULT_PACK
from tests.accounts.conftest import make_client
from tests.consent_api.conftest import PREFIX, grant, item, ledger, subscriber

EXAMPLE = DEFAULT_PACK.parent / "example-isp"


@pytest.fixture
def example(runtime: Runtime) -> Runtime:
    """The test runtime under the example operator's pack (English and German terms)."""
    return replace(
        runtime, settings=runtime.settings.model_copy(update={"policy_pack": Path(EXAMPLE)})
    )


@pytest.fixture
def example_client(example: Runtime) -> Iterator[TestClient]:
    """The app under the example pack."""
    yield from make_client(example)


def test_a_german_account_reads_the_terms_in_german_and_grants_on_the_german_notice(
    example_client: TestClient, db: Session, example: Runtime
) -> None:
    subject, auth = subscriber(db, example, language="de")
    listing = example_client.get(PREFIX, headers=auth)
    assert listing.json()["language"] == "de"
    camera = item(listing, "device.qr_camera")
    assert camera["function"] == (
        "Den QR-Code Ihrer Beispiel Box mit der Kamera des Telefons scannen"
    )
    assert camera["manual_path"] == "Geben Sie den Zuordnungscode vom Geräteetikett ein."
    assert camera["notice"]["language"] == "de"
    assert camera["notice"]["text"].startswith(camera["function"])
    assert camera["notice"]["hash"] == notice_hash(camera["notice"]["text"])
    # the purpose the reference pack lacks works through the API as well
    analytics = item(listing, "service.quality_analytics")
    assert analytics["function"].startswith("Die Leitungswerte")
    answer = grant(
        example_client, auth, "service.quality_analytics", "k", analytics["notice"]["hash"]
    )
    assert answer.status_code == 201, answer.text
    assert answer.json()["decision"]["policy_version"] == "2025-06"
    assert ledger(db, subject) == [("service.quality_analytics", "grant", "app")]


def test_an_english_account_reads_the_same_terms_in_english(
    example_client: TestClient, db: Session, example: Runtime
) -> None:
    _subject, auth = subscriber(db, example, language="en")
    camera = item(example_client.get(PREFIX, headers=auth), "device.qr_camera")
    assert camera["function"] == "Scan the QR code of your Beispiel Box with the phone camera"
    assert camera["notice"]["language"] == "en"
