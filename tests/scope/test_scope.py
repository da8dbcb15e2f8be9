"""Which policy applies to which service: the pack's scope, its resolver and its checks."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import sqlalchemy as sa

from doorstep.core.runtime import Runtime
from doorstep.packcheck.check import check_pack
from doorstep.privacy.datamap.pack import DEFAULT_PACK
from doorstep.privacy.datamap.scope import DOORSTEP_SERVICES, read_scope
from doorstep.schema import metadata
from tests.cli_run import doorstep
from tests.conftest import database_url_of

EXAMPLE_PACK = DEFAULT_PACK.parent / "example-isp"
ROUTER_APP = {"line": "cpe", "kind": "app", "market": "overseas"}


def _scope(path: Path = DEFAULT_PACK):  # type: ignore[no-untyped-def]
    scope, problems = read_scope(path)
    assert problems == [] and scope is not None
    return scope


@pytest.mark.clause("CPE-0.1")
def test_the_cpe_line_resolves_to_the_cpe_policy_and_nothing_else_does() -> None:
    scope = _scope()
    assert [policy.key for policy in scope.policies] == ["CPE-V1.1", "CORP-2019"]
    for kind in ("router", "gateway", "app", "cloud"):
        assert scope.resolve({**ROUTER_APP, "kind": kind}).policy.key == "CPE-V1.1"
    assert scope.resolve({"kind": "website"}).policy.key == "CORP-2019"
    assert scope.resolve({**ROUTER_APP, "market": "domestic"}).policy.key == "CORP-2019"
    assert scope.resolve({**ROUTER_APP, "line": "handsets"}).policy.key == "CORP-2019"


@pytest.mark.clause("CORP-0.2")
def test_the_corporate_policy_covers_websites_and_is_the_cpe_apps_fallback() -> None:
    scope = _scope()
    website = scope.resolve("corporate_website")
    assert (website.policy.key, website.fallbacks) == ("CORP-2019", ())
    app = scope.resolve(ROUTER_APP)
    assert app.policy.key == "CPE-V1.1"
    assert [policy.key for policy in app.fallbacks] == ["CORP-2019"]
    with pytest.raises(LookupError):
        scope.resolve({"kind": "television"})


@pytest.mark.clause("CPE-0.1")
def test_doorsteps_own_services_are_under_the_product_policy() -> None:
    scope = _scope()
    for service in DOORSTEP_SERVICES:
        resolved = scope.resolve(service)
        assert resolved.policy.key == "CPE-V1.1", service
        assert resolved.policy.text == "cpe-privacy-policy.txt"
        assert [policy.key for policy in resolved.fallbacks] == ["CORP-2019"]


def test_the_example_pack_declares_its_one_policy_for_every_service() -> None:
    scope = _scope(EXAMPLE_PACK)
    assert [policy.key for policy in scope.policies] == ["EX-2025-06"]
    for service in DOORSTEP_SERVICES:
        assert scope.resolve(service).policy.key == "EX-2025-06"


@pytest.mark.clause("CPE-0.1")
@pytest.mark.clause("CORP-0.2")
def test_the_command_answers_and_records_each_resolution_in_the_audit_trail(
    committed: Runtime,
) -> None:
    env = {"DOORSTEP_DATABASE_URL": database_url_of(committed.settings)}
    result = doorstep(
        "datamap",
        "scope",
        "app_api",
        "kind=website",
        "line=cpe,kind=router,market=overseas",
        env=env,
    )
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].startswith("app_api: CPE-V1.1 (CPE Product Privacy Policy V1.1)")
    assert lines[0].endswith("fallback: CORP-2019")
    assert lines[1] == "kind=website: CORP-2019 (ZTE Privacy Policy (corporate)); fallback: none"
    assert lines[2].startswith("kind=router,line=cpe,market=overseas: CPE-V1.1")
    with committed.sessions() as session:
        recorded = session.execute(
            sa.text(
                "SELECT actor, details FROM audit_events "
                "WHERE action = 'policy.scope_resolved' ORDER BY id"
            )
        ).all()
    assert [row.actor for row in recorded] == ["system:cli"] * 3
    assert [(row.details.get("service"), row.details["policy"]) for row in recorded] == [
        ("app_api", "CPE-V1.1"),
        (None, "CORP-2019"),
        (None, "CPE-V1.1"),
    ]
    assert recorded[0].details["fallbacks"] == "CORP-2019"


def test_an_unknown_service_is_a_usage_error_and_nothing_is_recorded(committed: Runtime) -> None:
    env = {"DOORSTEP_DATABASE_URL": database_url_of(committed.settings)}
    for args in (("toaster",), ("colour=blue",), ("kind",)):
        result = doorstep("datamap", "scope", *args, env=env)
        assert result.returncode == 2, (args, result.stdout)
    result = doorstep("datamap", "scope", "kind=television", env=env)
    assert result.returncode == 1
    assert "no policy of the pack applies" in result.stderr
    with committed.sessions() as session:
        count = session.scalar(
            sa.text("SELECT count(*) FROM audit_events WHERE action = 'policy.scope_resolved'")
        )
    assert count == 0


def _copy(tmp_path: Path, scope_yaml: str) -> Path:
    pack = tmp_path / "pack"
    shutil.copytree(EXAMPLE_PACK, pack)
    datamap = pack / "datamap.yaml"
    text = datamap.read_text(encoding="utf-8")
    datamap.write_text(text[: text.index("\nscope:")] + "\n" + scope_yaml, encoding="utf-8")
    return pack


def test_pack_check_names_each_problem_of_the_scope_with_its_line(tmp_path: Path) -> None:
    pack = _copy(
        tmp_path,
        "scope:\n"
        "  policies:\n"
        "    - key: EX-1\n"
        "      name: One\n"
        "      text: missing.md\n"
        "      applies_to:\n"
        "        - {kind: [app], colour: red}\n"
        "  services:\n"
        "    app_api: {kind: app}\n"
        "    device_cloud: {kind: cloud}\n",
    )
    lines = (pack / "datamap.yaml").read_text(encoding="utf-8").splitlines()
    at = {
        needle: lines.index(next(x for x in lines if needle in x)) + 1
        for needle in ("text: missing.md", "colour: red", "  services:", "device_cloud:")
    }
    found = [
        str(problem)
        for problem in check_pack(pack, metadata)
        if "scope" in str(problem) or "service" in str(problem) or "policy 'EX-1'" in str(problem)
    ]
    assert (
        f"datamap.yaml:{at['text: missing.md']}: policy 'EX-1': text must name a file of the pack"
        in found
    )
    colour = "policy 'EX-1' applies_to names unknown attribute 'colour'"
    assert f"datamap.yaml:{at['colour: red']}: {colour}" in found
    assert (
        f"datamap.yaml:{at['  services:']}: scope.services must declare Doorstep's own service "
        "'privacy_center'" in found
    )
    assert (
        f"datamap.yaml:{at['device_cloud:']}: no policy applies to service 'device_cloud'" in found
    )


def test_the_shipped_packs_scopes_have_no_problems() -> None:
    for pack in (DEFAULT_PACK, EXAMPLE_PACK):
        assert read_scope(pack)[1] == []
