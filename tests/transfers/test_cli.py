"""``doorstep transfers …``: mechanisms, home countries, the register, locations, drift."""

from __future__ import annotations

import csv
import io
import json
import uuid

import sqlalchemy as sa

from doorstep.core.clock import FakeClock
from doorstep.core.runtime import Runtime
from doorstep.privacy.transfers.gate import Flow
from doorstep.privacy.transfers.ingestion import record_drift
from doorstep.privacy.transfers.models import DriftSource, TransferMechanism
from doorstep.wiring import build_services
from tests.cli_run import doorstep
from tests.conftest import database_url_of
from tests.transfers.conftest import ACTOR, add_subject

ADDRESS = "cli.transfer@example.org"


def _env(runtime: Runtime) -> dict[str, str | None]:
    return {
        "DOORSTEP_DATABASE_URL": database_url_of(runtime.settings),
        "DOORSTEP_DATA_DIR": str(runtime.settings.data_dir),
    }


def _mechanisms(runtime: Runtime) -> int:
    with runtime.sessions() as session:
        return session.scalar(sa.select(sa.func.count()).select_from(TransferMechanism)) or 0


def test_mechanisms_are_added_listed_and_revoked_and_bad_input_changes_nothing(
    committed: Runtime,
) -> None:
    env = _env(committed)
    for bad in (
        ("consent", "US", "--reference", "in-app"),  # a subject's, never the operator's
        ("adequacy", "USA", "--reference", "decision"),
        ("standard_contract", "US", "--reference", "SCC"),  # a contract needs its date
        ("standard_contract", "US", "--reference", "SCC", "--signed-on", "2025-13-01"),
        (
            "binding_rules",
            "US",
            "--reference",
            "BCR",
            "--signed-on",
            "2025-02-01",
            "--expires-on",
            "2025-01-01",
        ),
    ):
        refused = doorstep("transfers", "mechanism", "add", *bad, env=env)
        assert refused.returncode == 2, (bad, refused.stdout)
    assert _mechanisms(committed) == 0

    added = doorstep(
        "transfers", "mechanism", "add", "standard_contract", "us",
        "--reference", "SCC-2021/914-module-2", "--recipient", "push_provider",
        "--signed-on", "2020-01-01", env=env,
    )  # fmt: skip
    assert added.returncode == 0, added.stderr
    mechanism = uuid.UUID(added.stdout.strip())
    listed = doorstep("transfers", "mechanism", "list", env=env)
    assert listed.stdout.split()[:5] == [
        str(mechanism),
        "US",
        "standard_contract",
        "push_provider",
        "SCC-2021/914-module-2",
    ]

    assert doorstep("transfers", "mechanism", "revoke", "nope", env=env).returncode == 2
    assert doorstep("transfers", "mechanism", "revoke", str(uuid.uuid4()), env=env).returncode == 1
    assert doorstep("transfers", "mechanism", "revoke", str(mechanism), env=env).returncode == 0
    again = doorstep("transfers", "mechanism", "revoke", str(mechanism), env=env)
    assert again.returncode == 1 and "already revoked" in again.stderr
    assert doorstep("transfers", "mechanism", "list", env=env).stdout == ""


def test_home_register_locations_and_drift_print_ids_and_names_never_values(
    committed: Runtime,
) -> None:
    env = _env(committed)
    clock = committed.clock
    assert isinstance(clock, FakeClock)
    with committed.sessions.begin() as session:
        subject = add_subject(session, clock)
        session.execute(
            sa.text(
                "INSERT INTO accounts (id, status, email, password_hash, created_at, language, "
                "source) VALUES (:id, 'active', :email, 'x', :at, 'en', 'app_signup')"
            ),
            {"id": subject, "email": ADDRESS, "at": clock.now()},
        )
    assert doorstep("transfers", "home", str(subject), "France", env=env).returncode == 2
    assert doorstep("transfers", "home", "nobody", "FR", env=env).returncode == 2
    assert doorstep("transfers", "home", str(uuid.uuid4()), "FR", env=env).returncode == 1
    home = doorstep("transfers", "home", str(subject), "fr", env=env)
    assert home.returncode == 0, home.stderr

    # A transfer from France to China (the pack's processors are there), on the
    # adequacy finding the operator records: the register lists it.
    adequacy = ("adequacy", "CN", "--reference", "decision 1")
    assert doorstep("transfers", "mechanism", "add", *adequacy, env=env).returncode == 0
    services = build_services(committed)
    with committed.sessions.begin() as session:
        passed = services.transfers.transfer(
            session,
            Flow("device.registration", "push_provider", "CN", ("accounts.email",), subject),
            clock=clock,
            actor=ACTOR,
            payload={"note": "boot ok"},
        )
        record_drift(
            session,
            source=DriftSource.DEVICE,
            model="DR-1000",
            purpose="device.registration",
            paths=[
                "Device.DeviceInfo.X_VENDOR_GeoLocation",
                "Device.DeviceInfo.X_VENDOR_GeoLocation",
            ],
            now=clock.now(),
            actor=ACTOR,
        )
    assert passed.transfer_id is not None

    as_json = doorstep("transfers", "register", env=env)
    assert as_json.returncode == 0, as_json.stderr
    [row] = json.loads(as_json.stdout)
    assert (row["id"], row["subject_id"]) == (str(passed.transfer_id), str(subject))
    assert (row["origin"], row["destination"], row["mechanism"]) == ("FR", "CN", "adequacy")
    assert row["elements"] == ["accounts.email"] and row["notice_id"]
    as_csv = doorstep("transfers", "register", "--format", "csv", env=env)
    [line] = csv.DictReader(io.StringIO(as_csv.stdout))
    assert line["destination"] == "CN" and line["recipient"] == "push_provider"
    assert ADDRESS not in as_json.stdout + as_csv.stdout
    assert doorstep("transfers", "register", "--format", "xml", env=env).returncode == 2

    located = doorstep("transfers", "locations", env=env)
    assert located.returncode == 0
    assert located.stdout.split() == ["primary", "CN", "home"]

    drifted = doorstep("transfers", "drift", env=env)
    assert drifted.returncode == 0
    assert drifted.stdout.split()[:5] == [
        "device",
        "DR-1000",
        "Device.DeviceInfo.X_VENDOR_GeoLocation",
        "device.registration",
        "2",
    ]
