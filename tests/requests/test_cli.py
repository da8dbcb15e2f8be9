"""``doorstep requests …`` on the test's database (the runtime is the test's)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from doorstep.core.runtime import Runtime
from doorstep.jobs.registry import JobContext
from doorstep.privacy.requests import cli
from doorstep.privacy.requests import services as svc
from doorstep.privacy.requests.context import RequestContext
from doorstep.privacy.requests.tasks import erase, export
from doorstep.privacy.subjects.models import Subject, SubjectKind
from tests.requests.conftest import STAFF, new_subject


@contextmanager
def same_runtime(runtime: Runtime) -> Iterator[None]:
    """Let ``doorstep requests`` commands run on the test's runtime while inside."""

    @contextmanager
    def same() -> Iterator[Runtime]:
        yield runtime

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(cli, "_open", same)
        yield


@pytest.fixture
def run(runtime: Runtime) -> Iterator[CliRunner]:
    """A runner whose commands use the test's runtime."""
    with same_runtime(runtime):
        yield CliRunner()


def test_list_show_extend_approve_and_refuse(
    run: CliRunner, db: Session, ctx: RequestContext, runtime: Runtime
) -> None:
    subject = new_subject(db)
    first = svc.open_request(
        db, ctx, subject_id=subject, kind="access", channel="post", actor=STAFF, jurisdiction="gdpr"
    )
    second = svc.open_request(
        db, ctx, subject_id=subject, kind="access", channel="post", actor=STAFF
    )
    svc.verify(db, ctx, first.id, method="postal_id", actor=STAFF)
    db.commit()
    listed = run.invoke(cli.app, ["list"])
    assert listed.exit_code == 0, listed.output
    assert str(first.id) in listed.output and str(second.id) in listed.output
    shown = run.invoke(cli.app, ["show", str(first.id)])
    assert "verification: postal_id" in shown.output
    extended = run.invoke(
        cli.app,
        ["extend", str(first.id), "--months", "2", "--reason", "complexity", "--reviewer", STAFF],
    )
    assert extended.exit_code == 0, extended.output
    approved = run.invoke(cli.app, ["approve", str(first.id), "--reviewer", STAFF])
    assert "queued" in approved.output, approved.output
    db.commit()
    assert export(JobContext(runtime, None, 1), request_id=str(first.id)) is True
    assert "status: completed" in run.invoke(cli.app, ["show", str(first.id)]).output
    refused = run.invoke(cli.app, ["refuse", str(second.id), "--code", "NOPE"])
    assert refused.exit_code == 1
    refused = run.invoke(
        cli.app, ["refuse", str(second.id), "--code", "IMPRACTICAL", "--reviewer", STAFF]
    )
    assert refused.exit_code == 0, refused.output
    assert "complaints:" in refused.output
    assert run.invoke(cli.app, ["show", "not-a-uuid"]).exit_code == 2


@pytest.mark.clause("CPE-V.3.d")
def test_tombstones_are_listed_and_replayed_after_a_restore(
    run: CliRunner, db: Session, ctx: RequestContext, tmp_path: Path, runtime: Runtime
) -> None:
    subject = new_subject(db)
    row = svc.open_request(
        db,
        ctx,
        subject_id=subject,
        kind="deletion",
        channel="app",
        actor=STAFF,
        ground="NO_PERMISSION",
    )
    svc.verify(db, ctx, row.id, method="session", actor=STAFF)
    db.commit()
    assert run.invoke(cli.app, ["approve", str(row.id)]).exit_code == 0
    erase(JobContext(runtime, None, 1), request_id=str(row.id))
    listed = run.invoke(cli.app, ["tombstones"])
    assert str(subject) in listed.output.split()
    saved = tmp_path / "tombstones"
    saved.write_text(listed.output)
    db.add(Subject(id=subject, kind=SubjectKind.SUBSCRIBER))  # the restored backup
    db.commit()
    replayed = run.invoke(cli.app, ["replay", str(saved)])
    assert replayed.exit_code == 0, replayed.output
    assert "erased again: 1" in replayed.output
    db.expire_all()
    assert db.get(Subject, subject) is None


def test_the_list_lines_its_columns_up_under_its_header(
    run: CliRunner, db: Session, ctx: RequestContext
) -> None:
    subject = new_subject(db)
    for kind in ("access", "portability"):
        svc.open_request(db, ctx, subject_id=subject, kind=kind, channel="post", actor=STAFF)
    db.commit()
    listed = run.invoke(cli.app, ["list"])
    assert listed.exit_code == 0, listed.output
    header, *rows = listed.output.splitlines()
    assert header.split() == ["id", "kind", "status", "queue", "received", "due", "flags"]
    assert len(rows) == 2
    for column in ("kind", "status", "queue", "received", "due", "flags"):
        start = header.index(column)
        for row in rows:
            assert row[start - 2 : start] == "  " and row[start] != " ", (column, row)


def test_a_failing_list_prints_no_header() -> None:
    from tests.cli_run import doorstep

    failed = doorstep(
        "requests", "list", env={"DOORSTEP_DATABASE_URL": "postgresql://nobody@127.0.0.1:1/none"}
    )
    assert failed.returncode == 1
    assert "cannot connect to PostgreSQL" in failed.stderr
    assert failed.stdout == ""
