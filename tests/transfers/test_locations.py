"""Where each store is, what covers a foreign one, and the pack's transfers: section."""

from __future__ import annotations

import shutil
import uuid
from pathlib import Path

import pytest
from sqlalchemy.orm import Session

from doorstep.core.clock import FakeClock
from doorstep.core.errors import ConfigurationError
from doorstep.privacy.datamap.pack import DEFAULT_PACK, load_pack
from doorstep.privacy.transfers.gate import TransferRefusedError
from doorstep.privacy.transfers.policy import read_transfer_policy
from doorstep.privacy.transfers.register import locations
from tests.transfers.conftest import ACTOR, POLICY, contract, gate_of

EXAMPLE_PACK = DEFAULT_PACK.parent / "example-isp"
_PRIMARY = "regions:\n  primary:\n"


def _pack_with_region(tmp_path: Path, region: str) -> Path:
    folder = tmp_path / "pack"
    shutil.copytree(DEFAULT_PACK, folder)
    source = folder / "datamap.yaml"
    text = source.read_text(encoding="utf-8")
    assert text.count(_PRIMARY) == 1
    source.write_text(text.replace(_PRIMARY, f"regions:\n{region}  primary:\n"), encoding="utf-8")
    return folder


def test_both_packs_declare_their_country_of_collection() -> None:
    assert read_transfer_policy(load_pack(DEFAULT_PACK)).home == "CN"
    example = read_transfer_policy(load_pack(EXAMPLE_PACK))
    assert example.home == "DE" and example.regions == {"primary": "DE"}
    assert "FR" in example.adequacy and "US" not in example.adequacy


@pytest.mark.clause("CPE-IV.1.d")
@pytest.mark.clause("CORP-5.6")
def test_a_foreign_store_without_a_transfer_record_fails_the_pack_lint(tmp_path: Path) -> None:
    bare = "  us:\n    description: A store in Virginia.\n    country: US\n"
    with pytest.raises(ConfigurationError) as failed:
        read_transfer_policy(load_pack(_pack_with_region(tmp_path / "a", bare)))
    assert "datamap.yaml:" in failed.value.detail and "'us' is in US" in failed.value.detail

    covered = bare + "    transfer: Standard contractual clauses (2021/914)\n"
    policy = read_transfer_policy(load_pack(_pack_with_region(tmp_path / "b", covered)))
    assert policy.regions == {"us": "US", "primary": "CN"}
    assert policy.safeguards == {"us": "Standard contractual clauses (2021/914)"}


@pytest.mark.clause("CPE-IV.1.d")
@pytest.mark.clause("CORP-5.6")
def test_the_data_location_report_flags_a_foreign_store_nothing_covers(
    db: Session, clock: FakeClock
) -> None:
    bare = POLICY.__class__(home="CN", regions={"primary": "CN", "us": "US"})
    report = {item.region: item for item in locations(db, bare)}
    assert not report["primary"].foreign and report["primary"].covered
    assert report["us"].foreign and not report["us"].covered

    contract(db, clock, "US")
    report = {item.region: item for item in locations(db, bare)}
    assert report["us"].covered
    assert report["us"].mechanisms == ("standard_contract:SCC-2021/914-module-2",)


@pytest.mark.clause("CPE-I.i.1.c")
def test_account_data_is_written_only_in_china_or_the_cloud_vendors_country(
    db: Session, clock: FakeClock, subject: uuid.UUID
) -> None:
    contract(db, clock, "DE", recipient="region:vendor")
    gate = gate_of(clock)
    for region in ("primary", "vendor"):
        gate.store(
            db,
            subject_id=subject,
            region=region,
            purpose="account.management",
            elements=("accounts.id",),
            clock=clock,
            actor=ACTOR,
        )
    with pytest.raises(TransferRefusedError) as refused:
        gate.store(
            db,
            subject_id=subject,
            region="us",
            purpose="account.management",
            elements=("accounts.id",),
            clock=clock,
            actor=ACTOR,
        )
    assert refused.value.fields["missing"] == "no_mechanism"
    covered = {item.country for item in locations(db, POLICY) if item.covered}
    assert covered == {"CN", "DE"}
