"""The connected systems of a pack (systems.yaml): declared like Doorstep's own columns.

Each corporate-policy domain is a processing activity with exactly the fields
the policy lists, and a pack that breaks a promise is refused at start-up and by
``doorstep pack check`` with the file and line.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from doorstep.core.errors import ConfigurationError
from doorstep.core.models import schema_metadata
from doorstep.privacy.datamap.pack import DEFAULT_PACK, default_pack, load_pack
from doorstep.privacy.datamap.ropa import build_ropa
from doorstep.privacy.datamap.systems import is_sensitive
from doorstep.vocabulary.declarations import LegalBasis


def _pack_with(tmp_path: Path, old: str, new: str) -> Path:
    """A copy of the reference pack whose systems.yaml has ``old`` replaced by ``new``."""
    target = tmp_path / f"pack{len(list(tmp_path.iterdir()))}"
    shutil.copytree(DEFAULT_PACK, target)
    source = target / "systems.yaml"
    text = source.read_text(encoding="utf-8")
    assert text.count(old) == 1, old
    source.write_text(text.replace(old, new), encoding="utf-8")
    return target


def _refused(tmp_path: Path, old: str, new: str) -> str:
    with pytest.raises(ConfigurationError) as refused:
        load_pack(_pack_with(tmp_path, old, new))
    return refused.value.detail


def test_every_system_element_is_in_the_record_of_processing() -> None:
    ropa = build_ropa(schema_metadata(), default_pack())
    systems = {record.element: record for record in ropa.elements if record.system}
    declared = {f"{system.key}:{item.key}" for system, item in default_pack().systems.elements()}
    assert set(systems) == declared
    by_purpose = {activity.purpose: set(activity.elements) for activity in ropa.activities}
    assert by_purpose["order.fulfilment"] == {
        f"shop:orders.{name}" for name in ("name", "address", "postcode", "phone", "items")
    }


@pytest.mark.clause("CORP-1.13")
def test_an_order_field_the_policy_does_not_list_is_refused(tmp_path: Path) -> None:
    detail = _refused(tmp_path, "            field: postcode\n", "            field: birthday\n")
    assert "systems.yaml:" in detail
    assert "'birthday', not one of activity 'order.fulfilment'" in detail


@pytest.mark.clause("CORP-1.14")
def test_after_sales_tickets_hold_name_phone_device_and_fault_only(tmp_path: Path) -> None:
    tickets = default_pack().systems.systems["tickets"]
    # the mailing service's name and address are asked on that choice only (CORP-1.15)
    service = [i for i in tickets.elements.values() if "after_sales.service" in i.purposes]
    assert {item.field for item in service} == {
        "name",
        "phone",
        "device",
        "fault_description",
    }
    detail = _refused(
        tmp_path,
        "      ticket.fault:\n        field: fault_description\n",
        "      ticket.fault:\n        field: address\n",
    )
    assert "'address', not one of activity 'after_sales.service'" in detail


@pytest.mark.clause("CORP-1.16")
def test_an_access_log_with_another_personal_field_is_refused(tmp_path: Path) -> None:
    detail = _refused(
        tmp_path, "            field: network_id\n", "            field: user_agent\n"
    )
    assert "activity 'service.access_log'" in detail


@pytest.mark.clause("CORP-1.17")
def test_acquired_data_carries_source_basis_and_date_or_is_refused(tmp_path: Path) -> None:
    leads = default_pack().systems.systems["leads"]
    assert leads.source is not None
    assert (leads.source.origin, leads.source.acquired_on) == (
        "commercial list broker",
        "2026-01-15",
    )
    assert leads.source.basis
    ropa = build_ropa(schema_metadata(), default_pack())
    (record,) = [r for r in ropa.elements if r.element == "leads:lead.email"]
    assert "commercial list broker" in record.source and "2026-01-15" in record.source
    detail = _refused(tmp_path, '      acquired_on: "2026-01-15"\n', "")
    assert "source lacks acquired_on (CORP-1.17)" in detail
    assert "systems.yaml:" in detail


@pytest.mark.clause("CORP-1.18")
def test_cloud_backup_is_opt_in_and_rests_on_consent_only(tmp_path: Path) -> None:
    backup = default_pack().systems.systems["cloud_backup"]
    assert backup.opt_in
    assert {item.legal_basis for item in backup.elements.values()} == {LegalBasis.CONSENT}
    # the other systems do not depend on it: none of their elements is a backup purpose
    others = [s for key, s in default_pack().systems.systems.items() if key != "cloud_backup"]
    assert not any("cloud.backup" in item.purposes for s in others for item in s.elements.values())
    detail = _refused(
        tmp_path,
        "      backup.photos:\n        field: photos\n        category: user.content.self_image\n"
        "        purposes: [cloud.backup]\n        legal_basis: consent\n",
        "      backup.photos:\n        field: photos\n        category: user.content.self_image\n"
        "        purposes: [cloud.backup]\n        legal_basis: contract\n",
    )
    assert "is opt-in: every element's legal basis must be consent" in detail


@pytest.mark.clause("CORP-1.19")
def test_job_applications_are_their_own_category_purpose_and_retention() -> None:
    pack = default_pack()
    careers = pack.systems.systems["careers"]
    assert {item.subject for item in careers.elements.values()} == {"job_applicant"}
    assert {p for item in careers.elements.values() for p in item.purposes} == {"recruitment"}
    assert pack.purposes["recruitment"].data_use == "employment.recruitment"
    assert {item.retention for item in careers.elements.values()} == {"job_application"}
    assert pack.retention["job_application"].period.days == 180
    # no other purpose reads the resume
    others = [
        item
        for system, item in pack.systems.elements()
        if system.key != "careers" and "recruitment" in item.purposes
    ]
    assert others == []


@pytest.mark.clause("CORP-1.20")
def test_the_taxonomy_flags_the_policys_sensitive_categories() -> None:
    assert is_sensitive("user.government_id.passport_number")  # passport_no
    assert is_sensitive("user.location.precise")  # gps_precise
    for category in (
        "user.demographic.race_ethnicity",
        "user.demographic.political_opinion",
        "user.demographic.religious_belief",
        "user.health_and_medical.genetic",
        "user.biometric.fingerprint",
        "user.demographic.sexual_orientation",
        "user.criminal_history",
        "user.financial.bank_account",
        "user.government_id.national_identification_number",
        "user.government_id.drivers_license_number",
    ):
        assert is_sensitive(category), category
    assert not is_sensitive("user.contact.email")
    assert not is_sensitive("user.location.imprecise")
    ropa = build_ropa(schema_metadata(), default_pack())
    flagged = {record.element for record in ropa.elements if record.sensitive}
    assert flagged == {"shop:payments.card_token"}


@pytest.mark.clause("CORP-1.21")
def test_payment_data_must_be_tokenised_and_rest_on_consent_or_a_recorded_basis(
    tmp_path: Path,
) -> None:
    token = default_pack().systems.systems["shop"].elements["payments.card_token"]
    assert token.tokenised and token.legal_basis is LegalBasis.CONTRACT
    detail = _refused(tmp_path, "            tokenised: true\n", "")
    assert "is payment data and must be declared 'tokenised: true'" in detail
    assert "systems.yaml:" in detail


def test_a_connector_url_must_be_declared_and_hold_no_password(tmp_path: Path) -> None:
    detail = _refused(
        tmp_path,
        "    url: postgresql://doorstep@127.0.0.1:5432/doorstep_shop\n",
        "    url: postgresql://doorstep:hunter2@127.0.0.1:5432/doorstep_shop\n",
    )
    assert "holds a password" in detail and "hunter2" not in detail
    detail = _refused(tmp_path, "    url: http://127.0.0.1:8031/\n", "")
    assert "declares no url" in detail


def test_unknown_purpose_and_retention_name_the_line(tmp_path: Path) -> None:
    detail = _refused(
        tmp_path,
        "        purposes: [newsletter]\n        legal_basis: consent\n"
        "        retention: until_erasure\n        clauses: [CORP-2.5]\n"
        "        description: The address",
        "        purposes: [spam]\n        legal_basis: consent\n"
        "        retention: until_erasure\n        clauses: [CORP-2.5]\n"
        "        description: The address",
    )
    assert "unknown purpose 'spam'" in detail
    assert detail.startswith("policy pack: systems.yaml:")
