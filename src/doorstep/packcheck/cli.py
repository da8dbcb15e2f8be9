"""``doorstep pack …``: check a policy pack; see what changing packs does to stored data.

* ``check DIR`` — every problem of the pack in ``DIR``, one per line, as
  ``FILE:LINE: message`` (a problem of a column of the schema starts with its
  ``table.column``); exit 0 when the pack is valid, 1 when it has problems;
  then its warnings as ``FILE:LINE: warning: message`` (:mod:`.carriers`: a
  processor abroad no message can pass), which do not change the exit status;
* ``diff OLD NEW`` — the purposes ``NEW`` removes and the periods it shortens,
  with counts from the database when one is reachable (``DOORSTEP_DATABASE_URL``,
  or a running demo's), else offline (``--offline`` asks for that); then how
  publishing ``NEW`` as a policy version would be classified (each difference
  major or minor, decision 0019); the last line says where the counts came from.

Exit 2 is bad usage: a folder that is no pack, a pack ``diff`` cannot read.
Neither command changes anything.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from doorstep.core.commands import fail

if TYPE_CHECKING:
    import sqlalchemy as sa

    from doorstep.packcheck.diff import PackDiff
    from doorstep.privacy.datamap.pack import PolicyPack

app = typer.Typer(
    help="Policy packs: check one with file and line; see what a change does to stored data.",
    no_args_is_help=True,
)

PackDir = Annotated[Path, typer.Argument(help="A policy pack folder (holds datamap.yaml).")]


def _metadata() -> sa.MetaData:
    import doorstep.schema

    return doorstep.schema.metadata


def _pack_dir(path: Path) -> Path:
    if not (path / "datamap.yaml").is_file():
        fail(f"{path} is not a policy pack folder (it holds no datamap.yaml)", 2)
    return path


@app.command()
def check(pack: PackDir) -> None:
    """List every problem of the pack with its file and line; exit 1 if there is one."""
    from doorstep.packcheck.carriers import carrier_warnings
    from doorstep.packcheck.check import check_pack

    found = check_pack(_pack_dir(pack), _metadata())
    for problem in found:
        typer.echo(str(problem))
    for warning in carrier_warnings(pack):
        typer.echo(str(warning), err=True)
    if found:
        typer.echo(f"doorstep: the policy pack has {len(found)} problem(s)", err=True)
        raise typer.Exit(1)
    typer.echo(f"policy pack valid: {pack}")


def _load(path: Path) -> PolicyPack:
    from doorstep.core.errors import ConfigurationError
    from doorstep.privacy.datamap.pack import load_pack

    try:
        return load_pack(_pack_dir(path))
    except ConfigurationError as exc:
        fail(f"{path}: {exc.detail}", 2)


def _counted(diff: PackDiff, old: PolicyPack, new: PolicyPack) -> tuple[PackDiff, str]:
    """``diff`` with counts and where they come from, or unchanged with why not."""
    from doorstep.core.commands import join_running_demo, load_cli_settings
    from doorstep.core.database import describe
    from doorstep.core.errors import ConfigurationError, DoorstepError
    from doorstep.core.runtime import open_runtime
    from doorstep.packcheck.diff import count

    settings = join_running_demo(load_cli_settings())
    if settings.uses_embedded_database:
        return diff, "offline: no counts (no DOORSTEP_DATABASE_URL and no demo running)"
    try:
        with open_runtime(settings, application_name="doorstep-pack") as runtime:
            with runtime.sessions() as session:
                counted = count(
                    diff,
                    session,
                    old=old,
                    new=new,
                    metadata=_metadata(),
                    settings=settings,
                    now=runtime.clock.now(),
                )
                session.rollback()
            where = describe(runtime.engine.url)
    except ConfigurationError as exc:
        fail(exc.detail, 2)
    except DoorstepError as exc:
        return diff, f"offline: no counts ({exc.detail})"
    return counted, f"counted in the database at {where}"


def _rows(pairs: tuple[tuple[str, int], ...]) -> str:
    return ", ".join(f"{table}: {rows} rows" for table, rows in pairs)


def _lines(diff: PackDiff) -> list[str]:
    from doorstep.privacy.datamap.wording import iso_period

    lines = []
    for purpose in diff.removed:
        parts = [f"removed purpose {purpose.key!r}"]
        if purpose.consent_records is not None:
            parts.append(f"{purpose.consent_records} consent records")
        if purpose.elements:
            parts.append("still declared by " + ", ".join(purpose.elements))
        else:
            parts.append("declared by no column")
        if purpose.rows:
            parts.append(_rows(purpose.rows))
        lines.append("; ".join(parts))
    for period in diff.shortened:
        tables = ", ".join(period.tables) or "no table"
        line = (
            f"shortened period {period.rule!r}: {iso_period(period.old)} -> "
            f"{iso_period(period.new)} after {period.trigger.value}; bound to {tables}"
        )
        if period.due_at_once is not None:
            line += "; due at once: " + (_rows(period.due_at_once) or "none (no sweep)")
        lines.append(line)
    return lines or ["no purpose removed, no period shortened"]


def _classified(old: PolicyPack, new: PolicyPack) -> list[str]:
    """How publishing ``new`` over ``old`` would be classified, one line per difference."""
    from doorstep.core.errors import ConfigurationError
    from doorstep.packcheck.diff import classify_packs

    try:
        found = classify_packs(old, new)
    except ConfigurationError as exc:  # the data-map diff above still stands
        return [f"as a policy version: not classified ({exc.detail})"]
    if not found.changes:
        return ["as a policy version: no difference"]
    verdict = "major" if found.major else "minor"
    if found.requires_acceptance:
        verdict += "; needs each subscriber's acceptance"
    return [f"as a policy version: {verdict}", *(f"  {c.line()}" for c in found.changes)]


@app.command()
def diff(
    old: Annotated[Path, typer.Argument(help="The pack in force now.")],
    new: Annotated[Path, typer.Argument(help="The pack that would replace it.")],
    offline: Annotated[
        bool, typer.Option("--offline", help="Do not read the database: list, do not count.")
    ] = False,
) -> None:
    """Show what NEW does to stored data: removed purposes, shortened periods, with counts."""
    from doorstep.packcheck.diff import compare

    before, after = _load(old), _load(new)
    changes = compare(before, after, _metadata())
    source = "offline: no counts (--offline)"
    if not offline and (changes.removed or changes.shortened):
        changes, source = _counted(changes, before, after)
    for line in _lines(changes):
        typer.echo(line)
    for line in _classified(before, after):
        typer.echo(line)
    typer.echo(source)
