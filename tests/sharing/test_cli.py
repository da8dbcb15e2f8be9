"""``doorstep sharing …``: consents per recipient, legal demands, the registry; bad input exit 2."""

from __future__ import annotations

import uuid

import sqlalchemy as sa

from doorstep.core.runtime import Runtime
from doorstep.privacy.sharing.models import LegalDemand, RecipientConsent
from doorstep.staff.services import add_staff
from tests.cli_run import doorstep
from tests.conftest import database_url_of
from tests.privacy.conftest import new_subject

#: A purpose the reference pack's SMTP relay has a share for.
PURPOSE = "notification.delivery"


def _env(runtime: Runtime) -> dict[str, str | None]:
    return {
        "DOORSTEP_DATABASE_URL": database_url_of(runtime.settings),
        "DOORSTEP_DATA_DIR": str(runtime.settings.data_dir),
    }


def _count(runtime: Runtime, model: type[RecipientConsent] | type[LegalDemand]) -> int:
    with runtime.sessions() as session:
        return session.scalar(sa.select(sa.func.count()).select_from(model)) or 0


def _staff(runtime: Runtime) -> uuid.UUID:
    with runtime.sessions.begin() as session:
        return add_staff(session, role="privacy_officer", clock=runtime.clock).id


def test_consents_are_granted_withdrawn_and_listed_and_bad_input_stores_nothing(
    committed: Runtime,
) -> None:
    env = _env(committed)
    with committed.sessions.begin() as session:
        subject = str(new_subject(session))
    for bad, code in (
        (("not-a-uuid", "smtp_relay", PURPOSE), 2),
        ((subject, "nobody", PURPOSE), 2),
        ((subject, "smtp_relay", "marketing.unknown"), 2),
        ((str(uuid.uuid4()), "smtp_relay", PURPOSE), 1),
    ):
        refused = doorstep("sharing", "consent", "grant", *bad, env=env)
        assert refused.returncode == code, (bad, refused.stdout, refused.stderr)
    assert _count(committed, RecipientConsent) == 0

    granted = doorstep("sharing", "consent", "grant", subject, "smtp_relay", PURPOSE, env=env)
    assert granted.returncode == 0, granted.stderr
    withdrawn = doorstep("sharing", "consent", "withdraw", subject, "smtp_relay", PURPOSE, env=env)
    assert withdrawn.returncode == 0, withdrawn.stderr
    listed = doorstep("sharing", "consent", "list", subject, env=env)
    rows = [line.split("\t") for line in listed.stdout.strip().splitlines()]
    assert [(row[0], row[1], row[2], row[3]) for row in rows] == [
        (granted.stdout.strip(), "smtp_relay", PURPOSE, "grant"),
        (withdrawn.stdout.strip(), "smtp_relay", PURPOSE, "withdraw"),
    ]


def test_a_legal_demand_needs_every_part_and_is_listed_and_shown(committed: Runtime) -> None:
    env = _env(committed)
    with committed.sessions.begin() as session:
        subject = str(new_subject(session))
    staff = str(_staff(committed))
    good = {
        "--recipient": "authorities",
        "--purpose": "privacy.rights",
        "--authority": "Public Prosecutor Berlin",
        "--legal-reference": "StPO 95, case 4711/26",
        "--scope": "accounts.email,accounts.phone",
        "--approver": staff,
    }

    def args(**changes: str) -> list[str]:
        options = {**good, **{f"--{k.replace('_', '-')}": v for k, v in changes.items()}}
        return [item for pair in options.items() for item in pair]

    for bad, code in (
        (args(legal_reference=" "), 2),
        (args(authority=""), 2),
        (args(scope="accounts.email,accounts.nothing"), 2),
        (args(scope=","), 2),
        (args(recipient="smtp_relay"), 2),  # a processor is no authority
        (args(approver="someone"), 2),
        (args(approver=str(uuid.uuid4())), 1),  # no such staff member
    ):
        refused = doorstep("sharing", "demand", "add", subject, *bad, env=env)
        assert refused.returncode == code, (bad, refused.stdout, refused.stderr)
    assert _count(committed, LegalDemand) == 0

    added = doorstep("sharing", "demand", "add", subject, *args(), env=env)
    assert added.returncode == 0, added.stderr
    demand = added.stdout.strip()
    listed = doorstep("sharing", "demand", "list", "--subject", subject, env=env)
    assert listed.stdout.split("\t")[:4] == [demand, subject, "authorities", "privacy.rights"]
    shown = doorstep("sharing", "demand", "show", demand, env=env)
    assert "legal reference StPO 95, case 4711/26" in shown.stdout
    assert f"approved by staff:{staff}" in shown.stdout
    assert doorstep("sharing", "demand", "show", str(uuid.uuid4()), env=env).returncode == 1


def test_the_registry_lists_the_notification_processors(committed: Runtime) -> None:
    listed = doorstep("sharing", "recipients", env=_env(committed))
    assert listed.returncode == 0, listed.stderr
    rows = {line.split("\t")[0]: line.split("\t") for line in listed.stdout.strip().splitlines()}
    assert rows["smtp_relay"][1:3] == ["processor", "CN"]
    assert rows["smtp_relay"][4] == PURPOSE
