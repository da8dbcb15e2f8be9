"""The record of processing (Art. 30): grouped per purpose, listed per element, complete."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest
import sqlalchemy as sa

from doorstep.core.errors import ConfigurationError
from doorstep.privacy.datamap.pack import PolicyPack, default_pack, load_pack
from doorstep.privacy.datamap.registry import personal_elements
from doorstep.privacy.datamap.ropa import ENCRYPTION_MEASURE, Ropa, build_ropa
from doorstep.privacy.datamap.ropa_formats import (
    CSV_COLUMNS,
    render,
    to_csv,
    to_json,
    to_markdown,
)
from doorstep.privacy.datamap.wording import time_limit
from doorstep.schema import metadata
from doorstep.vocabulary.declarations import LegalBasis, PersonalData
from tests.datamap.scratch import SCRATCH_PACK, write_pack

REAL_ELEMENTS = personal_elements(metadata)


@pytest.fixture(scope="module")
def real_ropa() -> Ropa:
    """The record of the real schema under the shipped pack."""
    return build_ropa(metadata, default_pack())


def test_activities_group_the_elements_by_purpose(
    scratch_metadata: sa.MetaData, scratch_pack: PolicyPack
) -> None:
    ropa = build_ropa(scratch_metadata, scratch_pack)
    by_purpose = {activity.purpose: activity for activity in ropa.activities}
    assert list(by_purpose) == ["newsletter", "service.core", "voice.calls"]
    core = by_purpose["service.core"]
    assert core.elements == (
        "owners.id",
        "owners.staff_note",
        "widgets.device_ip",
        "widgets.email",
        "widgets.owner_id",
    )
    assert core.legal_bases == ("contract", "legitimate_interests")
    assert [t.key for t in core.data_subjects] == ["customer", "employee"]
    assert [t.key for t in core.data_categories] == [
        "user.account",
        "user.contact.email",
        "user.device.ip_address",
        "user.unique_id.pseudonymous",
    ]
    assert [r.key for r in core.recipients] == ["lab", "mailer"]
    assert [(p.kind, p.key, p.country) for p in core.transfers] == [("recipient", "lab", "XY")]
    assert [limit.rule for limit in core.retention] == ["offline_two_years", "until_gone"]
    assert core.products == ("gateway", "router")
    assert core.clauses == ("CPE-I.i.1.a",)
    assert core.security_measures == (
        "Role-based access control",
        "Encryption in transit",
        f"{ENCRYPTION_MEASURE}: widgets.email",
    )
    newsletter = by_purpose["newsletter"]
    assert (newsletter.elements, newsletter.products) == (("widgets.email",), ("router",))
    assert newsletter.data_use.key == "marketing.communications.email"
    assert [r.key for r in newsletter.recipients] == ["mailer"]
    assert newsletter.transfers == ()
    voice = by_purpose["voice.calls"]
    assert (voice.elements, voice.products) == (("widgets.phone",), ("gateway",))
    assert [(p.kind, p.key, p.transfer) for p in voice.transfers] == [
        ("region", "abroad", "Standard contractual clauses (GDPR Art. 46(2)(c))")
    ]
    assert [(limit.rule, limit.period, limit.time_limit) for limit in voice.retention] == [
        ("a_month", "P30D", "erased 30 days after it is created")
    ]


def test_each_element_is_listed_with_its_own_declaration(
    scratch_metadata: sa.MetaData, scratch_pack: PolicyPack
) -> None:
    ropa = build_ropa(scratch_metadata, scratch_pack)
    elements = {record.element: record for record in ropa.elements}
    assert list(elements) == [
        "owners.id",
        "owners.staff_note",
        "widgets.device_ip",
        "widgets.email",
        "widgets.owner_id",
        "widgets.phone",
    ]
    email = elements["widgets.email"]
    assert (email.table, email.column) == ("widgets", "email")
    assert email.purposes == ("newsletter", "service.core")
    assert email.products == ("gateway", "router")
    assert (email.encrypted, email.legal_basis) == (True, "contract")
    assert [r.key for r in email.recipients] == ["mailer"]
    assert elements["widgets.phone"].products == ("gateway",)
    ip = elements["widgets.device_ip"]
    assert (ip.retention.period, ip.retention.trigger) == ("P2Y", "device_offline")
    assert ip.retention.time_limit == "erased 2 years after the device was last online"
    assert elements["owners.staff_note"].data_subject.key == "employee"
    assert "owners.kind" not in elements


def test_the_json_document_has_a_stable_shape(
    scratch_metadata: sa.MetaData, scratch_pack: PolicyPack
) -> None:
    document = json.loads(to_json(build_ropa(scratch_metadata, scratch_pack)))
    assert list(document) == [
        "format",
        "version",
        "controller",
        "security_measures",
        "products",
        "activities",
        "elements",
        "collection_points",
        "policy_purposes",
    ]
    assert (document["format"], document["version"]) == ("doorstep.ropa", 1)
    assert set(document["controller"]) == {"name", "email", "address", "dpo"}
    assert set(document["activities"][0]) == {
        "purpose",
        "title",
        "description",
        "data_use",
        "products",
        "legal_bases",
        "data_subjects",
        "data_categories",
        "recipients",
        "regions",
        "transfers",
        "retention",
        "security_measures",
        "clauses",
        "elements",
    }
    assert set(document["elements"][0]) == {
        "element",
        "table",
        "column",
        "description",
        "data_category",
        "data_subject",
        "purposes",
        "legal_basis",
        "retention",
        "region",
        "recipients",
        "encrypted",
        "products",
        "clauses",
        "export",
        "export_reason",
        "system",
        "sensitive",
        "tokenised",
        "source",
    }
    assert set(document["elements"][0]["retention"]) == {
        "rule",
        "trigger",
        "period",
        "time_limit",
        "description",
    }
    assert set(document["elements"][0]["region"]) == {
        "kind",
        "key",
        "description",
        "country",
        "transfer",
    }


def test_the_csv_has_a_row_per_activity_and_element(
    scratch_metadata: sa.MetaData, scratch_pack: PolicyPack
) -> None:
    text = to_csv(build_ropa(scratch_metadata, scratch_pack))
    rows = list(csv.DictReader(io.StringIO(text)))
    assert tuple(rows[0]) == CSV_COLUMNS
    assert [(row["purpose"], row["element"]) for row in rows] == [
        ("newsletter", "widgets.email"),
        ("service.core", "owners.id"),
        ("service.core", "owners.staff_note"),
        ("service.core", "widgets.device_ip"),
        ("service.core", "widgets.email"),
        ("service.core", "widgets.owner_id"),
        ("voice.calls", "widgets.phone"),
    ]
    ip = rows[3]
    assert ip["legal_basis"] == "legitimate_interests"
    assert (
        ip["third_country_transfers"] == "recipient lab (XY): Explicit consent (GDPR Art. 49(1)(a))"
    )
    assert ip["erasure_time_limit"] == "erased 2 years after the device was last online"
    assert rows[0]["element_description"] == "Where we send receipts | newsletters."
    assert rows[0]["security_measures"].endswith("encrypted with the data subject's own key")
    assert rows[6]["products"] == "gateway"
    assert {row["controller"] for row in rows} == {"Example Networks Ltd"}
    assert rows[0]["dpo_contact"] == "Dana Protector, dpo@example.net"
    assert "\r" not in text


def test_the_markdown_has_the_controller_each_activity_and_each_element(
    scratch_metadata: sa.MetaData, scratch_pack: PolicyPack
) -> None:
    text = to_markdown(build_ropa(scratch_metadata, scratch_pack))
    assert text.startswith("# Record of processing activities\n")
    assert "| Controller | Example Networks Ltd |" in text
    assert "| Data protection officer | Dana Protector, dpo@example.net |" in text
    for heading in ("Newsletter (`newsletter`)", "Service core (`service.core`)"):
        assert f"### {heading}\n" in text
    assert "- **Legal basis:** contract (GDPR Art. 6(1)(b)); legitimate interests" in text
    assert "- **Transfers to third countries:** region abroad (EL): Standard contractual" in text
    assert (
        "| `widgets.email` | `user.contact.email` | customer | newsletter, service.core |" in text
    )
    # A pipe in a description cannot break a table.
    assert text.count("\n| `") == 6


def test_the_output_is_deterministic(
    scratch_metadata: sa.MetaData, scratch_pack: PolicyPack, tmp_path: Path
) -> None:
    again = load_pack(write_pack(tmp_path / "again", SCRATCH_PACK))
    for fmt in ("json", "csv", "markdown"):
        first = render(build_ropa(scratch_metadata, scratch_pack), fmt)
        assert first == render(build_ropa(scratch_metadata, again), fmt)
        assert first.endswith("\n")


def test_an_unknown_format_is_refused(
    scratch_metadata: sa.MetaData, scratch_pack: PolicyPack
) -> None:
    with pytest.raises(ValueError, match="choose one of: csv, json, markdown"):
        render(build_ropa(scratch_metadata, scratch_pack), "xml")


def test_a_pack_without_a_controller_cannot_make_a_record(
    scratch_metadata: sa.MetaData, tmp_path: Path
) -> None:
    body = SCRATCH_PACK[: SCRATCH_PACK.index("controller:")] + "products: {}\n"
    body = body.replace("    products: [router]\n", "").replace("    products: [gateway]\n", "")
    with pytest.raises(ConfigurationError, match="no 'controller:' section"):
        build_ropa(scratch_metadata, load_pack(write_pack(tmp_path, body)))


def test_an_invalid_data_map_makes_no_record(
    scratch_metadata: sa.MetaData, scratch_pack: PolicyPack
) -> None:
    sa.Table("loose", scratch_metadata, sa.Column("note", sa.Text))
    with pytest.raises(ConfigurationError, match=r"loose\.note: no privacy declaration"):
        build_ropa(scratch_metadata, scratch_pack)


# The real schema: whatever tables the other areas add, every personal element
# must appear, with what its own declaration says.


def test_the_real_record_lists_every_personal_element(real_ropa: Ropa) -> None:
    own = [record.element for record in real_ropa.elements if not record.system]
    assert own == [n for n, _ in REAL_ELEMENTS]
    in_activities = {name for activity in real_ropa.activities for name in activity.elements}
    assert in_activities - {r.element for r in real_ropa.elements if r.system} == set(own)
    rows = list(csv.DictReader(io.StringIO(to_csv(real_ropa))))
    assert {(row["purpose"], row["element"]) for row in rows if ":" not in row["element"]} == {
        (purpose, name) for name, declaration in REAL_ELEMENTS for purpose in declaration.purposes
    }
    markdown = to_markdown(real_ropa)
    for name, _ in REAL_ELEMENTS:
        assert f"| `{name}` |" in markdown


@pytest.mark.parametrize(("name", "declaration"), REAL_ELEMENTS, ids=[n for n, _ in REAL_ELEMENTS])
def test_each_real_element_says_what_its_declaration_says(
    real_ropa: Ropa, name: str, declaration: PersonalData
) -> None:
    pack = default_pack()
    record = next(item for item in real_ropa.elements if item.element == name)
    assert record.purposes == tuple(sorted(declaration.purposes))
    assert record.legal_basis == declaration.legal_basis.value
    assert record.retention.rule == declaration.retention
    assert record.retention.time_limit == time_limit(pack.retention[declaration.retention])
    assert record.data_category.key == declaration.category
    assert record.data_subject.key == declaration.subject
    assert record.region.key == declaration.region
    assert [r.key for r in record.recipients] == sorted(set(declaration.recipients))
    assert record.encrypted == declaration.secret
    for purpose in declaration.purposes:
        activity = next(item for item in real_ropa.activities if item.purpose == purpose)
        assert name in activity.elements
        assert declaration.legal_basis.value in activity.legal_bases


@pytest.mark.clause("CORP-0.1")
def test_every_activity_of_the_record_states_its_lawful_basis(real_ropa: Ropa) -> None:
    """Each processing activity in the RoPA export names one or more Art. 6 bases."""
    bases = {basis.value for basis in LegalBasis}
    assert real_ropa.activities
    for activity in real_ropa.activities:
        assert activity.legal_bases, activity.purpose
        assert set(activity.legal_bases) <= bases
    for row in csv.DictReader(io.StringIO(to_csv(real_ropa))):
        assert row["legal_basis"] in bases, row["element"]
    markdown = to_markdown(real_ropa)
    assert markdown.count("- **Legal basis:** ") == len(real_ropa.activities)


@pytest.mark.clause("CPE-IV.1.d")
def test_the_record_names_where_each_element_is_stored_and_each_transfer(
    scratch_metadata: sa.MetaData, scratch_pack: PolicyPack, real_ropa: Ropa
) -> None:
    """Every element's storage region is recorded; a third-country one carries its safeguard."""
    scratch = build_ropa(scratch_metadata, scratch_pack)
    for ropa, pack in ((real_ropa, default_pack()), (scratch, scratch_pack)):
        for record in ropa.elements:
            assert record.region.key in pack.regions
        for activity in ropa.activities:
            members = [r for r in ropa.elements if r.element in activity.elements]
            expected = {
                ("region", m.region.key)
                for m in members
                if pack.region_details[m.region.key].is_transfer
            } | {
                ("recipient", r.key)
                for m in members
                for r in m.recipients
                if pack.recipient_details[r.key].is_transfer
            }
            assert {(p.kind, p.key) for p in activity.transfers} == expected
            assert all(place.transfer for place in activity.transfers)
    assert {(p.key, p.transfer) for a in scratch.activities for p in a.transfers} == {
        ("abroad", "Standard contractual clauses (GDPR Art. 46(2)(c))"),
        ("lab", "Explicit consent (GDPR Art. 49(1)(a))"),
    }
