"""Holds from the console API and the command line, and in the subject's access export."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from doorstep.asgi import create_app
from doorstep.core.clock import FakeClock
from doorstep.core.runtime import Runtime
from doorstep.keys.services import KeyService
from doorstep.privacy.holds import cli
from doorstep.privacy.requests.export import collect
from doorstep.schema import metadata
from doorstep.staff.services import add_staff
from doorstep.staff.signin import issue_link
from tests.accounts.conftest import bearer
from tests.holds.conftest import hold
from tests.requests.conftest import actions, new_subject

HOLDS = "/api/v1/console/holds"


@pytest.fixture
def client(runtime: Runtime) -> Iterator[TestClient]:
    """The app as served, on the test's transaction."""
    with TestClient(create_app(runtime), raise_server_exceptions=False) as test_client:
        yield test_client


def _signed_in(client: TestClient, db: Session, clock: FakeClock, role: str) -> dict[str, str]:
    staff = add_staff(db, role=role, clock=clock)
    made = client.post(
        "/api/v1/console/sessions", json={"token": issue_link(db, staff.id, clock=clock)}
    )
    assert made.status_code == 201, made.text
    return bearer(str(made.json()["access_token"]))


def _holds(db: Session) -> int:
    return int(db.scalar(sa.text("SELECT count(*) FROM legal_holds")) or 0)


def test_a_privacy_officer_places_lists_shows_and_releases_a_hold(
    client: TestClient, db: Session, clock: FakeClock
) -> None:
    officer = _signed_in(client, db, clock, "privacy_officer")
    subject = new_subject(db)
    body = {
        "subject_id": str(subject),
        "element": "accounts.email",
        "basis": "LITIGATION",
        "authority": "Landgericht Berlin",
        "reference": "2-O-123-26",
    }
    placed = client.post(HOLDS, json=body, headers=officer)
    assert placed.status_code == 201, placed.text
    hold_id = placed.json()["id"]
    assert placed.json()["standing"] is True and placed.json()["element"] == "accounts.email"
    listed = client.get(HOLDS, params={"standing": True}, headers=officer)
    assert [item["id"] for item in listed.json()] == [hold_id]
    assert client.get(f"{HOLDS}/{hold_id}", headers=officer).json()["basis"] == "LITIGATION"
    vocabulary = client.get(f"{HOLDS}-vocabulary", headers=officer).json()
    assert "TAX_RETENTION" in vocabulary["bases"]
    released = client.post(f"{HOLDS}/{hold_id}/release", headers=officer)
    assert released.status_code == 200 and released.json()["standing"] is False
    again = client.post(f"{HOLDS}/{hold_id}/release", headers=officer)
    assert again.status_code == 409 and again.json()["reason"] == "already_released"
    assert {"hold.placed", "hold.viewed", "hold.released"} <= set(actions(db, subject))


def test_support_may_not_place_holds_and_the_refusal_is_audited(
    client: TestClient, db: Session, clock: FakeClock
) -> None:
    support = _signed_in(client, db, clock, "support")
    body = {
        "subject_id": str(new_subject(db)),
        "basis": "LITIGATION",
        "authority": "Landgericht Berlin",
        "reference": "2-O-123-26",
    }
    refused = client.post(HOLDS, json=body, headers=support)
    assert refused.status_code == 403
    assert refused.headers["content-type"] == "application/problem+json"
    assert client.get(HOLDS, headers=support).status_code == 403
    assert _holds(db) == 0
    denied = db.scalar(
        sa.text("SELECT count(*) FROM audit_events WHERE action = 'staff.place_holds'")
    )
    assert denied


@pytest.mark.parametrize(
    ("change", "status", "field"),
    [
        ({"basis": "BECAUSE"}, 422, "basis"),
        ({"element": "audit_events"}, 422, "element"),
        ({"reference": "Anna Schmidt's case"}, 422, "reference"),
        ({"subject_id": "not-a-uuid"}, 422, None),
        ({"subject_id": str(uuid.UUID(int=12345))}, 404, None),
        ({"colour": "red"}, 422, None),
    ],
)
def test_bad_input_or_an_unknown_subject_changes_nothing(
    client: TestClient,
    db: Session,
    clock: FakeClock,
    change: dict[str, str],
    status: int,
    field: str | None,
) -> None:
    officer = _signed_in(client, db, clock, "privacy_officer")
    body = {
        "subject_id": str(new_subject(db)),
        "basis": "LITIGATION",
        "authority": "Landgericht Berlin",
        "reference": "2-O-123-26",
        **change,
    }
    answer = client.post(HOLDS, json=body, headers=officer)
    assert answer.status_code == status, answer.text
    assert answer.headers["content-type"] == "application/problem+json"
    if field is not None:
        assert answer.json()["errors"][0]["field"] == field
    assert "Schmidt" not in answer.text
    assert _holds(db) == 0


@contextmanager
def _same_runtime(runtime: Runtime) -> Iterator[None]:
    @contextmanager
    def same() -> Iterator[Runtime]:
        yield runtime

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(cli, "_open", same)
        yield


def test_the_command_line_places_lists_shows_and_releases(runtime: Runtime, db: Session) -> None:
    subject = new_subject(db)
    db.commit()
    run = CliRunner()
    with _same_runtime(runtime):
        placed = run.invoke(
            cli.app,
            [
                "place",
                str(subject),
                "--basis",
                "TAX_RETENTION",
                "--authority",
                "Abgabenordnung § 147",
                "--reference",
                "AO-147",
                "--element",
                "outbox",
                "--by",
                "staff:" + str(uuid.UUID(int=3)),
            ],
        )
        assert placed.exit_code == 0, placed.output
        hold_id = placed.output.split()[1]
        listed = run.invoke(cli.app, ["list", "--standing"])
        assert hold_id in listed.output and "TAX_RETENTION" in listed.output
        shown = run.invoke(cli.app, ["show", hold_id])
        assert "authority: Abgabenordnung § 147" in shown.output
        bad = run.invoke(
            cli.app,
            ["place", str(subject), "--basis", "NOPE", "--authority", "X y", "--reference", "r1"],
        )
        assert bad.exit_code == 2 and "legal basis" in bad.output
        unknown = run.invoke(
            cli.app,
            [
                "place",
                str(uuid.uuid4()),
                "--basis",
                "LITIGATION",
                "--authority",
                "Landgericht",
                "--reference",
                "r1",
            ],
        )
        assert unknown.exit_code == 1
        released = run.invoke(cli.app, ["release", hold_id])
        assert released.exit_code == 0, released.output
        assert run.invoke(cli.app, ["release", hold_id]).exit_code == 1
    assert _holds(db) == 1
    assert actions(db, subject) == ["hold.placed", "hold.released"]


def test_the_access_export_lists_the_subjects_holds(
    db: Session, clock: FakeClock, keys: KeyService
) -> None:
    subject = new_subject(db)
    placed = hold(db, clock, subject, "outbox", basis="TAX_RETENTION", reference="AO-147")
    other = hold(db, clock, new_subject(db), basis="LITIGATION")
    found = collect(db, keys, metadata, subject)
    rows = found["legal_holds"]
    assert [row["id"] for row in rows] == [str(placed.id)]
    assert rows[0]["basis"] == "TAX_RETENTION" and rows[0]["element"] == "outbox"
    assert rows[0]["authority"] == "Tax office Berlin" and rows[0]["reference"] == "AO-147"
    assert str(other.id) not in str(found)
