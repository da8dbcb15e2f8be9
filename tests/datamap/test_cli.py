"""``doorstep datamap …`` as run by an operator (in this process): output, files, exit codes."""

from __future__ import annotations

import csv
import io
import json
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml
from fideslang.parse import load_manifests_into_taxonomy

from doorstep.privacy.datamap.pack import DEFAULT_PACK
from doorstep.privacy.datamap.registry import collect, personal_elements
from doorstep.schema import metadata
from tests.cli_run import doorstep


def datamap(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """Run ``doorstep datamap ARGS`` (in this process) with no reachable database at all."""
    return doorstep(
        "datamap",
        *args,
        env={
            "DOORSTEP_POLICY_PACK": None,
            "DOORSTEP_DATABASE_URL": "postgresql://nobody@127.0.0.1:1/none",
            **(env or {}),
        },
    )


def _default_pack_with(tmp_path: Path, change: Any) -> Path:
    """A copy of the shipped pack's datamap.yaml after ``change(raw)``."""
    raw = yaml.safe_load((DEFAULT_PACK / "datamap.yaml").read_text(encoding="utf-8"))
    change(raw)
    folder = tmp_path / "pack"
    folder.mkdir()
    (folder / "datamap.yaml").write_text(yaml.safe_dump(raw), encoding="utf-8")
    return folder


def test_check_lists_every_column_and_needs_no_database() -> None:
    result = datamap("check")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    items = collect(metadata)
    assert [line.split()[0] for line in lines[:-1]] == [item.element for item in items]
    personal = len(personal_elements(metadata))
    assert lines[-1] == (
        f"data map valid: {len(items)} columns in {len(metadata.tables)} tables, "
        f"{personal} personal elements"
    )


@pytest.mark.clause("CPE-IV.3.b")
def test_check_fails_when_an_element_has_no_retention_rule(tmp_path: Path) -> None:
    """A pack that lacks a retention rule an element names fails the lint, naming the element."""
    pack = _default_pack_with(tmp_path, lambda raw: raw["retention"].pop("until_erasure"))
    result = datamap("check", "--pack", str(pack))
    assert result.returncode == 1
    assert result.stderr.startswith("doorstep: the data map is invalid:\n")
    assert "  subjects.id: unknown retention rule 'until_erasure'\n" in result.stderr
    assert result.stdout == ""
    # Nothing is generated from an invalid map either.
    assert datamap("ropa", "--pack", str(pack)).returncode == 1


def test_a_missing_pack_is_a_usage_error(tmp_path: Path) -> None:
    result = datamap("check", "--pack", str(tmp_path / "nowhere"))
    assert result.returncode == 2
    assert "does not exist" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_ropa_json_goes_to_stdout_and_lists_every_element() -> None:
    result = datamap("ropa", "--format", "json")
    assert result.returncode == 0, result.stderr
    document = json.loads(result.stdout)
    assert document["format"] == "doorstep.ropa"
    assert [item["element"] for item in document["elements"] if not item["system"]] == [
        name for name, _ in personal_elements(metadata)
    ]
    # the connected systems' elements follow, named system:element (systems.yaml)
    assert "shop:orders.name" in {item["element"] for item in document["elements"]}


def test_ropa_csv_and_markdown_go_to_a_file(tmp_path: Path) -> None:
    target = tmp_path / "ropa.csv"
    result = datamap("ropa", "--format", "csv", "--output", str(target))
    assert (result.returncode, result.stdout) == (0, "")
    assert f"wrote {target}" in result.stderr
    rows = list(csv.DictReader(io.StringIO(target.read_text(encoding="utf-8"))))
    own = {row["element"] for row in rows if ":" not in row["element"]}
    assert own == {name for name, _ in personal_elements(metadata)}
    markdown = datamap("ropa")
    assert markdown.returncode == 0
    assert markdown.stdout.startswith("# Record of processing activities\n")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("ropa", "--format", "xml"), "unknown --format 'xml'; choose one of: csv, json, markdown"),
        (("export", "--format", "yaml"), "unknown --format 'yaml'; choose one of: fides"),
        (
            ("notice", "--product", "toaster"),
            "unknown product 'toaster'; the policy pack defines: gateway, router",
        ),
    ],
)
def test_a_bad_choice_is_one_clear_line_and_exit_2(args: tuple[str, ...], message: str) -> None:
    result = datamap(*args)
    assert result.returncode == 2
    assert result.stderr == f"doorstep: {message}\n"
    assert result.stdout == ""


def test_notice_needs_a_product() -> None:
    result = datamap("notice")
    assert result.returncode == 2
    assert "--product" in result.stderr


def test_export_fides_loads_in_fideslang(tmp_path: Path) -> None:
    target = tmp_path / "doorstep.fides.yaml"
    result = datamap("export", "--format", "fides", "--output", str(target))
    assert result.returncode == 0, result.stderr
    taxonomy = load_manifests_into_taxonomy(yaml.safe_load(target.read_text(encoding="utf-8")))
    assert taxonomy.dataset[0].fides_key == "doorstep_postgres"
    assert taxonomy.system[0].privacy_declarations


def test_notice_per_product_and_pack_from_the_environment(tmp_path: Path) -> None:
    def rename(raw: dict[str, Any]) -> None:
        raw["controller"]["name"] = "Operator Example AG"

    pack = _default_pack_with(tmp_path, rename)
    result = datamap("notice", "--product", "gateway", env={"DOORSTEP_POLICY_PACK": str(pack)})
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("# What we collect and why — Home gateway\n")
    assert "Operator Example AG" in result.stdout
    router = datamap("notice", "--product", "router")
    assert router.stdout.startswith("# What we collect and why — Router\n")
    assert "ZTE Corporation" in router.stdout


def test_a_pack_without_a_controller_cannot_make_documents(tmp_path: Path) -> None:
    pack = _default_pack_with(tmp_path, lambda raw: raw.pop("controller"))
    for args in (("ropa",), ("export",), ("notice", "--product", "router")):
        result = datamap(*args, "--pack", str(pack))
        assert result.returncode == 2, args
        assert "no 'controller:' section" in result.stderr
    assert datamap("check", "--pack", str(pack)).returncode == 0


def test_the_group_is_mounted() -> None:
    result = doorstep("datamap", "--help")
    assert result.returncode == 0
    for command in ("check", "ropa", "export", "notice"):
        assert command in result.stdout
