"""``doorstep staff add / list / deactivate / sign-in-link`` (run in the test process)."""

from __future__ import annotations

import re

from doorstep.core.runtime import Runtime
from tests.privacy.conftest import audit_rows
from tests.privacy.test_consent_cli import doorstep

UUID = r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"


def test_add_list_and_deactivate(committed: Runtime) -> None:
    settings = committed.settings
    added = doorstep(settings, "staff", "add", "--role", "support")
    assert added.returncode == 0, added.stderr
    assert re.fullmatch(rf"{UUID}\n", added.stdout), "only the id: SID=$(doorstep staff add …)"
    assert "added with role support" in added.stderr
    staff_id = added.stdout.strip()

    listed = doorstep(settings, "staff", "list")
    assert listed.returncode == 0, listed.stderr
    assert re.search(rf"{staff_id}\s+support\s+active", listed.stdout)

    gone = doorstep(settings, "staff", "deactivate", staff_id)
    assert gone.returncode == 0, gone.stderr
    assert staff_id not in doorstep(settings, "staff", "list").stdout
    assert re.search(
        rf"{staff_id}\s+support\s+inactive", doorstep(settings, "staff", "list", "--all").stdout
    )
    with committed.engine.connect() as connection:
        actions = [row.action for row in audit_rows(connection, actor="system:cli")]
    assert actions.count("staff.added") == 1
    assert actions.count("staff.deactivated") == 1
    assert actions.count("staff.listed") == 3


def test_bad_input_is_a_usage_error(committed: Runtime) -> None:
    assert doorstep(committed.settings, "staff", "add", "--role", "overlord").returncode == 2
    bad = doorstep(committed.settings, "staff", "deactivate", "nobody")
    assert (bad.returncode, "STAFF_ID must be a UUID" in bad.stderr) == (2, True)
    missing = doorstep(
        committed.settings, "staff", "deactivate", "00000000-0000-4000-8000-000000000000"
    )
    assert missing.returncode == 1


def test_a_sign_in_link_is_printed_once_and_signs_in_once(committed: Runtime) -> None:
    from fastapi.testclient import TestClient

    from doorstep.asgi import create_app

    settings = committed.settings
    added = doorstep(settings, "staff", "add", "--role", "privacy_officer")
    printed = doorstep(
        settings,
        "staff",
        "sign-in-link",
        added.stdout.strip(),
        "--base-url",
        "https://desk.example/",
    )
    assert printed.returncode == 0, printed.stderr
    link = re.fullmatch(r"https://desk\.example/console/sign-in\?token=(dsl_\S+)\n", printed.stdout)
    assert link, printed.stdout
    with TestClient(create_app(committed)) as client:
        first = client.post("/api/v1/console/sessions", json={"token": link.group(1)})
        second = client.post("/api/v1/console/sessions", json={"token": link.group(1)})
    assert (first.status_code, second.status_code) == (201, 422)
    unknown = doorstep(settings, "staff", "sign-in-link", "00000000-0000-4000-8000-000000000000")
    assert unknown.returncode == 1 and "dsl_" not in unknown.stdout
    assert doorstep(settings, "staff", "sign-in-link", "nobody").returncode == 2
