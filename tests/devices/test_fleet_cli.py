"""``doorstep devices list|tag|untag``, ``doorstep groups …`` and ``doorstep bulk …``."""

from __future__ import annotations

import json
import re

import sqlalchemy as sa

from doorstep.core.runtime import Runtime
from tests.devices.fleet_rows import add_devices
from tests.privacy.test_consent_cli import doorstep

UUID = r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"


def _count(committed: Runtime, table: str) -> int:
    with committed.engine.connect() as connection:
        return int(connection.execute(sa.text(f"SELECT count(*) FROM {table}")).scalar_one())


def test_list_pages_by_keyset_and_tags_untag_devices(committed: Runtime) -> None:
    settings = committed.settings
    with committed.sessions.begin() as session:
        nine = add_devices(session, 5, now=committed.clock.now(), model="R9", firmware="1.9")
        add_devices(session, 2, now=committed.clock.now(), model="G2", product="gateway")
    first = doorstep(settings, "devices", "list", "--model", "R9", "--limit", "3")
    assert first.returncode == 0, first.stderr
    assert first.stdout.startswith("5 devices match\n")
    assert [line.split()[0] for line in first.stdout.splitlines()[2:5]] == [
        str(d) for d in nine[:3]
    ]
    assert f"next page: --after {nine[2]}" in first.stdout
    rest = doorstep(settings, "devices", "list", "--model", "R9", "--after", str(nine[2]), "--json")
    document = json.loads(rest.stdout)
    assert [d["device_id"] for d in document["devices"]] == [str(d) for d in nine[3:]]
    assert document["next_after"] is None and document["devices"][0]["firmware_version"] == "1.9"
    assert "serial" not in rest.stdout.lower() and "SN" not in rest.stdout

    tagged = doorstep(settings, "devices", "tag", "trial", str(nine[0]), str(nine[1]))
    assert tagged.returncode == 0, tagged.stderr
    assert "2 devices tagged, 0 had it, 0 not in the fleet" in tagged.stdout
    listed = doorstep(settings, "devices", "list", "--tag", "trial")
    assert listed.stdout.startswith("2 devices match\n") and "trial" in listed.stdout
    untagged = doorstep(settings, "devices", "untag", "trial", str(nine[0]))
    assert "removed from 1 devices" in untagged.stdout
    assert doorstep(settings, "devices", "tag", "Not A Tag", str(nine[0])).returncode == 2
    assert doorstep(settings, "devices", "tag", "ok", "not-a-uuid").returncode == 2
    bad = doorstep(settings, "devices", "list", "--firmware-min", "beta")
    assert bad.returncode == 2 and "firmware_min (version)" in bad.stderr


def test_groups_are_created_listed_shown_and_deleted(committed: Runtime) -> None:
    settings = committed.settings
    with committed.sessions.begin() as session:
        old = add_devices(session, 3, now=committed.clock.now(), model="R9", firmware="1.9")
        add_devices(session, 2, now=committed.clock.now(), model="R9", firmware="1.10")
    made = doorstep(
        settings, "groups", "create", "old nines", "--model", "R9", "--firmware-below", "1.10"
    )
    assert made.returncode == 0, made.stderr
    assert re.match(rf"group {UUID} created: model=R9 firmware<1.10; 3 devices match", made.stdout)
    json_made = doorstep(
        settings, "groups", "create", "gateways", "--filter", '{"product_type": "gateway"}'
    )
    assert json_made.returncode == 0 and "0 devices match" in json_made.stdout
    assert doorstep(settings, "groups", "create", "old nines").returncode == 1  # name taken
    assert doorstep(settings, "groups", "create", "x", "--filter", "{nope").returncode == 2
    assert doorstep(settings, "groups", "create", "x", "--filter", '{"colour": 1}').returncode == 2
    listed = doorstep(settings, "groups", "list")
    assert re.search(r"old nines\s+model=R9 firmware<1.10\s+3", listed.stdout)
    shown = doorstep(settings, "groups", "show", "old nines")
    assert [
        line.split(": ")[1] for line in shown.stdout.splitlines() if line.startswith("member")
    ] == [str(d) for d in old]
    assert doorstep(settings, "groups", "delete", "old nines").returncode == 0
    assert doorstep(settings, "groups", "show", "old nines").returncode == 1


def test_bulk_reboot_show_cancel_and_the_refusal_of_a_personal_path(committed: Runtime) -> None:
    settings = committed.settings
    with committed.sessions.begin() as session:
        add_devices(session, 4, now=committed.clock.now(), model="R9")
    assert doorstep(settings, "groups", "create", "nines", "--model", "R9").returncode == 0
    unnamed = doorstep(settings, "bulk", "reboot")
    assert unnamed.returncode == 2 and "--all-devices" in unnamed.stderr  # never by omission
    refused = doorstep(
        settings,
        "bulk",
        "set",
        "--group",
        "nines",
        "Device.WiFi.AccessPoint.1.Security.KeyPassphrase=s3cret",
    )
    assert refused.returncode == 2
    assert "Device.WiFi.AccessPoint.1.Security.KeyPassphrase is not on" in refused.stderr
    assert "s3cret" not in refused.stderr + refused.stdout
    assert _count(committed, "bulk_actions") == 0 and _count(committed, "device_operations") == 0

    started = doorstep(settings, "bulk", "reboot", "--group", "nines", "--max-in-flight", "2")
    assert started.returncode == 0, started.stderr
    found = re.match(
        rf"bulk action ({UUID}) started: reboot on 4 devices \(2 queued now", started.stdout
    )
    assert found is not None
    bulk_id = found.group(1)
    shown = doorstep(settings, "bulk", "show", bulk_id, "--results")
    assert "running: 0/4 done (0 succeeded, 0 failed, 0 cancelled, 2 open)" in shown.stdout
    assert len(re.findall(rf"{UUID}\s+queued", shown.stdout)) == 2
    assert bulk_id in doorstep(settings, "bulk", "list").stdout
    cancelled = doorstep(settings, "bulk", "cancel", bulk_id)
    assert cancelled.returncode == 0 and "cancelled: 2/4 done" in cancelled.stdout
    followed = doorstep(settings, "bulk", "show", bulk_id, "--follow", "--interval", "0.1")
    assert followed.returncode == 0 and "cancelled: 2/4 done" in followed.stdout
    assert doorstep(settings, "bulk", "cancel", bulk_id).returncode == 1
    assert doorstep(settings, "bulk", "show", "nope").returncode == 2
