"""Publishing versions: in force by effective date, earlier ones retrievable, bad input refused.

Real database, the app in-process (API and pages), packs copied from the
reference pack and changed.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from doorstep.core.clock import FakeClock
from doorstep.core.errors import ConflictError, InvalidInputError
from doorstep.core.runtime import Runtime
from doorstep.privacy.changes.publish import Marking
from doorstep.privacy.datamap.pack import DEFAULT_PACK
from doorstep.privacy.policies import versions
from doorstep.privacy.policies.models import PolicyVersion
from doorstep.services import Services
from tests.policies.conftest import in_days, publish_pack


def _reworded(pack_copy: Callable[..., Path]) -> Path:
    folder = pack_copy("reworded")
    text = folder / "cpe-privacy-policy.txt"
    text.write_text(text.read_text(encoding="utf-8") + "\nA clarified sentence.\n", "utf-8")
    return folder


@pytest.mark.clause("CPE-VII.2")
@pytest.mark.clause("CORP-8.1")
def test_a_published_version_is_served_at_the_policy_url_with_date_and_summary(
    client: TestClient, db: Session, services: Services, runtime: Runtime, pack_copy: Any
) -> None:
    publish_pack(
        db, services, _reworded(pack_copy), "1.2", in_days(runtime, 0), summary="Clearer words."
    )
    answer = client.get("/api/v1/policy").json()
    assert answer["id"] == "1.2" and answer["summary"] == "Clearer words."
    assert answer["effective_at"].startswith(in_days(runtime, 0).isoformat())
    assert "A clarified sentence." in answer["texts"]["cpe-privacy-policy.txt"]
    page = client.get("/policy")
    assert page.status_code == 200
    assert "The privacy policy in force is version 1.2." in page.text
    assert "Clearer words." in page.text and "A clarified sentence." in page.text


@pytest.mark.clause("CPE-VII.5")
def test_every_earlier_version_stays_retrievable_by_id_and_by_date(
    client: TestClient, db: Session, services: Services, runtime: Runtime, pack_copy: Any
) -> None:
    publish_pack(db, services, _reworded(pack_copy), "1.2", in_days(runtime, 0))
    archived = client.get("/api/v1/policy", params={"version": "1.1"}).json()
    assert archived["id"] == "1.1"
    assert "A clarified sentence." not in archived["texts"]["cpe-privacy-policy.txt"]
    at = client.get("/api/v1/policy", params={"at": "2025-06-01T00:00:00Z"}).json()
    assert at["id"] == "1.1"
    assert client.get("/api/v1/policy", params={"at": "2019-06-01T00:00:00Z"}).status_code == 404
    assert [item["id"] for item in client.get("/api/v1/policy/versions").json()] == ["1.1", "1.2"]
    page = client.get("/policy/versions/1.1")
    assert page.status_code == 200 and "This is version 1.1" in page.text
    assert "It took effect on 2020-02-01; it is archived." in page.text
    assert client.get("/policy", params={"at": "2025-06-01"}).text.count("version 1.1") >= 1
    assert client.get("/policy/versions/9.9").status_code == 404


@pytest.mark.clause("CPE-0.2")
def test_the_first_version_carries_its_id_and_date_and_answers_name_it(
    client: TestClient, db: Session
) -> None:
    answer = client.get("/api/v1/policy").json()
    assert answer["id"] == "1.1"
    assert answer["effective_at"].startswith("2020-02-01")  # "Last updated in: February 2020"
    assert "Last updated in: February 2020" in answer["texts"]["cpe-privacy-policy.txt"]
    page = client.get("/policy").text
    assert "version 1.1" in page and "2020-02-01" in page
    # Recorded once, however many readers ask.
    client.get("/api/v1/policy")
    assert db.scalar(sa.select(sa.func.count()).select_from(PolicyVersion)) == 1


def test_the_operator_text_is_shown_in_the_readers_language_safely(
    client: TestClient, db: Session, services: Services, runtime: Runtime, pack_copy: Any
) -> None:
    folder = pack_copy("operator")
    (folder / "privacy-policy.en.md").write_text(
        "# Our policy\n\nWe <script>alert(1)</script> keep **little**.\n", "utf-8"
    )
    (folder / "privacy-policy.de.md").write_text("# Unsere Erklärung\n\nWenig.\n", "utf-8")
    publish_pack(db, services, folder, "1.2", in_days(runtime, 0))
    english = client.get("/policy").text
    assert "<strong>little</strong>" in english and "<script>alert" not in english
    german = client.get("/policy", headers={"accept-language": "de"}).text
    assert "Unsere Erklärung" in german


def _count(db: Session) -> int:
    return int(db.scalar(sa.select(sa.func.count()).select_from(PolicyVersion)) or 0)


def test_a_pack_with_an_unknown_purpose_or_an_unexecutable_period_is_refused(
    db: Session, services: Services, runtime: Runtime, pack_copy: Any
) -> None:
    def unknown_purpose(datamap: dict[str, Any], consent: dict[str, Any]) -> None:
        consent["purposes"]["marketing.offers"] = {
            "function": "Offers",
            "optional": True,
            "manual_path": "None.",
        }

    def idle_period(datamap: dict[str, Any], consent: dict[str, Any]) -> None:
        datamap["retention"]["forever_and_a_day"] = {"trigger": "created", "period": "P9Y"}

    versions.ensure_initial(db, services.pack, services.terms, runtime.clock)
    for name, edit, needle in (
        ("unknown", unknown_purpose, "marketing.offers"),
        ("idle", idle_period, "forever_and_a_day"),
    ):
        with pytest.raises(InvalidInputError) as refused:
            publish_pack(db, services, pack_copy(name, edit), "2.0", in_days(runtime, 40))
        assert refused.value.fields["errors"] == [{"field": "folder", "rule": "pack_invalid"}]
        assert any(needle in problem for problem in refused.value.fields["problems"]), name
    assert _count(db) == 1


def test_ids_dates_and_notice_time_are_checked_before_anything_is_stored(
    db: Session, services: Services, runtime: Runtime, pack_copy: Any
) -> None:
    versions.ensure_initial(db, services.pack, services.terms, runtime.clock)
    major = pack_copy("major", policy={"impact_assessment": "high"})
    cases = [
        (("bad id!", in_days(runtime, 40)), "version_id"),
        (("2.0", in_days(runtime, -1)), "not_in_past"),
        (("2.0", in_days(runtime, 10)), "notice_too_short"),
    ]
    for (version_id, effective), rule in cases:
        with pytest.raises(InvalidInputError) as refused:
            publish_pack(db, services, major, version_id, effective)
        assert refused.value.fields["errors"][0]["rule"] == rule
    with pytest.raises(ConflictError):
        publish_pack(db, services, DEFAULT_PACK, "1.1", in_days(runtime, 0))
    assert _count(db) == 1


def test_a_major_change_marked_minor_needs_a_recorded_reason_shown_in_the_history(
    client: TestClient, db: Session, services: Services, runtime: Runtime, pack_copy: Any
) -> None:
    folder = pack_copy("contact", policy={"complaints": "The new complaints desk."})
    with pytest.raises(InvalidInputError) as refused:
        publish_pack(db, services, folder, "1.2", in_days(runtime, 0), marking=Marking.MINOR)
    assert refused.value.fields["errors"][0]["rule"] == "minor_reason_required"
    assert _count(db) == 1
    version = publish_pack(
        db,
        services,
        folder,
        "1.2",
        in_days(runtime, 0),
        marking=Marking.MINOR,
        minor_reason="Only the desk's name changed; same people, same address.",
    )
    assert version.classified_major and not version.major
    listed = client.get("/api/v1/policy/versions").json()[-1]
    assert listed["minor_reason"].startswith("Only the desk's name changed")
    assert "Only the desk&#39;s name changed" in client.get("/policy").text


def test_a_reduction_of_rights_can_never_be_marked_minor(
    db: Session, services: Services, runtime: Runtime, pack_copy: Any, clock: FakeClock
) -> None:
    folder = pack_copy("fewer", policy={"rights": {"access": "By letter."}})
    with pytest.raises(InvalidInputError) as refused:
        publish_pack(
            db,
            services,
            folder,
            "1.2",
            in_days(runtime, 40),
            marking=Marking.MINOR,
            minor_reason="We think it is small.",
        )
    assert refused.value.fields["errors"][0]["rule"] == "always_major"
