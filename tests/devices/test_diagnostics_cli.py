"""``doorstep diagnostics run|show|list``: staff run diagnostics on a ticket or with consent."""

from __future__ import annotations

import re

import sqlalchemy as sa

from doorstep.core.runtime import Runtime
from doorstep.privacy.consent.services import grant
from doorstep.staff.models import StaffRole
from doorstep.staff.services import add_staff
from tests.devices.fleet_rows import add_devices, bind
from tests.packs import reference_terms
from tests.privacy.test_consent_cli import doorstep

UUID = r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"


def _count(committed: Runtime, query: str) -> int:
    with committed.engine.connect() as connection:
        return int(connection.execute(sa.text(query)).scalar_one())


def test_staff_runs_diagnostics_only_on_a_ticket_or_with_consent(committed: Runtime) -> None:
    settings, now = committed.settings, committed.clock.now()
    with committed.sessions.begin() as session:
        (device,) = add_devices(session, 1, now=now)
        owner = bind(session, device, now=now)
        support = add_staff(session, role=StaffRole.SUPPORT, clock=committed.clock).actor
        admin = add_staff(session, role=StaffRole.ADMIN, clock=committed.clock).actor
    base = ["diagnostics", "run", str(device), "--kind", "ping", "--host", "example.org"]

    for bad in (
        [*base, "--by", support],  # no ground
        [*base, "--by", support, "--ticket", "AS-1", "--consent"],  # two grounds
        [*base, "--by", "system:cli", "--ticket", "AS-1"],  # not a staff member
        ["diagnostics", "run", str(device), "--kind", "ping", "--host", "a b", "--by", support,
         "--ticket", "AS-1"],
        ["diagnostics", "run", str(device), "--kind", "whois", "--by", support, "--ticket", "AS-1"],
        [*base, "--by", support, "--ticket", "call from Mrs Smith"],
    ):  # fmt: skip
        answer = doorstep(settings, *bad)
        assert answer.returncode == 2, (bad, answer.stdout, answer.stderr)
    refused = doorstep(settings, *base, "--by", admin, "--ticket", "AS-1")
    assert refused.returncode == 1 and "role_not_permitted" in refused.stderr
    no_consent = doorstep(settings, *base, "--by", support, "--consent")
    assert no_consent.returncode == 1
    assert _count(committed, "SELECT count(*) FROM diagnostic_runs") == 0
    assert _count(committed, "SELECT count(*) FROM device_operations") == 0
    refusals = "SELECT count(*) FROM audit_events WHERE outcome = 'refused'"
    assert _count(committed, refusals) >= 3  # the ticket, the role, the consent

    queued = doorstep(settings, *base, "--by", support, "--ticket", "AS-2026-0042")
    assert queued.returncode == 0, queued.stderr
    (run_id,) = re.findall(UUID, queued.stdout)
    with committed.sessions.begin() as session:
        grant(session, subject_id=owner, purpose="device.diagnostics_by_staff", channel="web",
              notice_text="Let support test my router.", clock=committed.clock,
              terms=reference_terms())  # fmt: skip
    # No controller runs here: --wait gives up after its timeout and says where the run is.
    waited = doorstep(settings, *base, "--by", support, "--consent", "--wait", "--timeout", "1")
    assert waited.returncode == 1 and "state: queued" in waited.stdout
    assert "ground: consent" in waited.stdout

    listed = doorstep(settings, "diagnostics", "list", str(device))
    assert listed.returncode == 0 and listed.stdout.count("ping") == 2
    shown = doorstep(settings, "diagnostics", "show", str(device), run_id)
    assert "ground: ticket (AS-2026-0042)" in shown.stdout and "host: example.org" in shown.stdout
    assert doorstep(settings, "diagnostics", "show", str(device), str(device)).returncode == 1
