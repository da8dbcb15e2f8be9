"""Collection points (CORP-1.1): every way personal data is collected is registered in the
pack with purpose and notice; the reader refuses a point without either; the schema's
collected tables carry a ``source`` that must name a registered point."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from doorstep.core.errors import ConfigurationError, InvalidInputError
from doorstep.packcheck.check import check_pack
from doorstep.privacy.datamap.pack import DEFAULT_PACK, default_pack, load_pack
from doorstep.privacy.datamap.pack_collection import PointKind
from doorstep.privacy.datamap.record_sources import (
    SOURCE,
    checked_source,
    declared_points,
    source_tables,
)
from doorstep.privacy.datamap.ropa import build_ropa
from doorstep.privacy.datamap.ropa_formats import to_json, to_markdown
from doorstep.schema import metadata
from tests.cli_run import doorstep

EXAMPLE_PACK = DEFAULT_PACK.parent / "example-isp"
#: What CORP-1.1 names: the hotline, a website account, brand activities, cookies.
NAMED_BY_THE_POLICY = {
    PointKind.HOTLINE,
    PointKind.WEB,
    PointKind.BRAND_ACTIVITY,
    PointKind.COOKIE,
}


def _copy(tmp_path: Path) -> Path:
    return Path(shutil.copytree(DEFAULT_PACK, tmp_path / "pack"))


def _edit(pack: Path, old: str, new: str) -> None:
    path = pack / "datamap.yaml"
    text = path.read_text(encoding="utf-8")
    assert text.count(old) == 1, old
    path.write_text(text.replace(old, new), encoding="utf-8")


def _ours(problem: str) -> bool:
    """A problem about collection points or sources (other checks have tests of their own)."""
    return "collection point" in problem or ".source:" in problem


def _line(pack: Path, text: str, after: str) -> int:
    lines = (pack / "datamap.yaml").read_text(encoding="utf-8").splitlines()
    start = next(i for i, item in enumerate(lines) if item == after)
    return next(i for i, item in enumerate(lines) if i >= start and text in item) + 1


@pytest.mark.clause("CORP-1.1")
def test_every_way_of_collecting_is_registered_with_purpose_and_notice() -> None:
    pack = default_pack()
    points = pack.collection_points
    assert {point.kind for point in points.values()} >= NAMED_BY_THE_POLICY
    for point in points.values():
        assert point.purposes and set(point.purposes) <= set(pack.purposes), point.key
        assert point.notice.section or point.notice.path, point.key
        assert point.description, point.key
    hotline = points["hotline"]
    assert (hotline.kind, hotline.records) == (PointKind.HOTLINE, ("inquiries",))
    assert "privacy.rights" in hotline.purposes
    # every table the code collects rows into names registered points only …
    collected = source_tables(metadata)
    assert set(collected) == {"accounts", "account_identities", "device_registrations", "inquiries"}
    for table, declared in collected.items():
        for key in declared:
            assert table in points[key].records, (table, key)
    # … and every connected system that collects from the person is some point's
    systems = {point.system for point in points.values() if point.system}
    acquired = {key for key, system in pack.systems.systems.items() if system.source}
    assert systems | acquired == set(pack.systems.systems)


@pytest.mark.clause("CORP-1.1")
@pytest.mark.parametrize(
    ("old", "new", "message", "at"),
    [
        (
            "    purposes: [privacy.rights, customer.support]\n",
            "",
            "collection point 'hotline' names no purpose",
            "  hotline:",
        ),
        (
            "    purposes: [privacy.rights, customer.support]\n",
            "    purposes: [privacy.rights, cold.calling]\n",
            "collection point 'hotline' names unknown purpose 'cold.calling'",
            "    purposes: [privacy.rights, cold.calling]",
        ),
        (
            '    notice: {section: "CORP 1. Collection and Use of Personal Information '
            '(calling our hotline)", path: /policy}\n',
            "",
            "collection point 'hotline' has no notice: name the policy section "
            "(notice.section) or the page (notice.path) that tells the person",
            "  hotline:",
        ),
        (
            '    notice: {section: "CORP 1. Collection and Use of Personal Information '
            '(calling our hotline)", path: /policy}\n',
            "    notice: {path: policy.html}\n",
            "collection point 'hotline' notice.path must start with / or https://",
            "    notice: {path: policy.html}",
        ),
        (
            "    kind: hotline\n",
            "    kind: carrier_pigeon\n",
            "collection point 'hotline' has unknown kind 'carrier_pigeon'",
            "    kind: carrier_pigeon",
        ),
    ],
)
def test_the_reader_refuses_a_point_without_purpose_or_notice_with_file_and_line(
    tmp_path: Path, old: str, new: str, message: str, at: str
) -> None:
    pack = _copy(tmp_path)
    _edit(pack, old, new)
    with pytest.raises(ConfigurationError) as refused:
        load_pack(pack)
    line = _line(pack, at.strip(), after="collection_points:")
    assert refused.value.detail == f"policy pack: datamap.yaml:{line}: {message}"


@pytest.mark.clause("CORP-1.1")
def test_a_pack_that_adopts_the_clause_must_register_its_points(tmp_path: Path) -> None:
    pack = _copy(tmp_path)
    text = (pack / "datamap.yaml").read_text(encoding="utf-8")
    start = text.index("\ncollection_points:\n")
    end = text.index("\n# The corporate policy's purposes")
    (pack / "datamap.yaml").write_text(text[:start] + text[end:], encoding="utf-8")
    with pytest.raises(ConfigurationError, match=r"adopts CORP-1\.1 but declares no"):
        load_pack(pack)
    # a pack that does not adopt it (no such clause) needs no registry
    example = load_pack(EXAMPLE_PACK)
    assert example.collection_points == {}
    assert example.policy_purposes is None


@pytest.mark.clause("CORP-1.1")
def test_pack_check_refuses_a_registry_that_misses_what_the_code_collects(
    tmp_path: Path,
) -> None:
    pack = _copy(tmp_path)
    _edit(pack, "  hotline:\n    kind: hotline\n", "  phone_line:\n    kind: hotline\n")
    _edit(
        pack,
        "    records: [device_registrations]\n",
        "    records: [device_registrations, devices]\n",
    )
    found = [str(problem) for problem in check_pack(pack, metadata) if _ours(str(problem))]
    section = _line(pack, "collection_points:", after="collection_points:")
    records = _line(pack, "records: [device_registrations, devices]", after="collection_points:")
    assert found == [
        f"datamap.yaml:{section}: inquiries.source: the code collects rows at 'hotline', "
        "which no collection point registers for 'inquiries' (CORP-1.1)",
        f"datamap.yaml:{records}: collection point 'device_registration' records 'devices', "
        "which has no 'source' column",
    ]
    assert [item for item in check_pack(DEFAULT_PACK, metadata) if _ours(str(item))] == []


@pytest.mark.clause("CORP-1.1")
def test_a_write_without_a_registered_source_is_refused_by_the_one_check() -> None:
    inquiries = metadata.tables["inquiries"]
    pack = default_pack()
    for missing in (None, "", "  "):
        with pytest.raises(InvalidInputError) as refused:
            checked_source(inquiries, missing, pack)
        assert refused.value.fields["errors"] == [{"field": SOURCE, "rule": "required"}]
    for unregistered in ("billboard", "app_signup"):  # unknown; registered, not for inquiries
        with pytest.raises(InvalidInputError) as refused:
            checked_source(inquiries, unregistered, pack)
        assert refused.value.fields["errors"] == [
            {"field": SOURCE, "rule": "registered_collection_point"}
        ]
    assert checked_source(inquiries, "hotline", pack) == "hotline"
    # a pack without a registry: the points the column declares
    example = load_pack(EXAMPLE_PACK)
    assert "hotline" in declared_points(inquiries)
    assert checked_source(inquiries, "hotline", example) == "hotline"
    with pytest.raises(InvalidInputError):
        checked_source(inquiries, "billboard", example)


@pytest.mark.clause("CORP-1.1")
def test_the_record_of_processing_lists_the_points_with_purpose_and_notice() -> None:
    ropa = build_ropa(metadata, default_pack())
    points = {point.key: point for point in ropa.collection_points}
    assert set(points) == set(default_pack().collection_points)
    hotline = points["hotline"]
    assert hotline.purposes == ("privacy.rights", "customer.support")
    assert "calling our hotline" in hotline.notice_section and hotline.notice_path == "/policy"
    assert points["shop"].system == "shop" and points["shop"].records == ()
    document = json.loads(to_json(ropa))
    assert document["collection_points"][0]["key"] == next(iter(points))
    markdown = to_markdown(ropa)
    assert "## Collection points" in markdown
    assert "| `hotline` — " in markdown
    listed = doorstep("datamap", "collection-points", env={"DOORSTEP_POLICY_PACK": None})
    assert listed.returncode == 0, listed.stderr
    assert any(
        line.startswith("hotline  kind=hotline  purposes=privacy.rights,customer.support")
        and "records=inquiries" in line
        for line in listed.stdout.splitlines()
    )
    bare = doorstep("datamap", "collection-points", "--pack", str(EXAMPLE_PACK))
    assert (bare.returncode, bare.stderr) == (
        2,
        "doorstep: the policy pack declares no 'collection_points:'\n",
    )
