"""``doorstep policy publish|preview|list|show``: versions of the privacy policy.

``publish DIR --version ID --effective DATE --summary TEXT`` checks the pack in
``DIR``, classifies every difference from the newest version, prints the
classification and stores the version (a major one notifies every subscriber
through the worker).  ``--minor --reason TEXT`` treats a major change as minor
with a recorded reason; ``--major`` treats a minor one as major.  Bad input is
exit 2 with the reason and nothing stored.

``change-controller --kind K --successor NAME --contact EMAIL --effective DATE``
records a change of controller bound to the newest version and notifies every
subscriber through the worker; ``controller-changes`` lists them (CPE-III.2.b).
"""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Annotated

import typer

from doorstep.core.commands import cli_runtime, fail, load_cli_settings
from doorstep.core.errors import ConflictError, DoorstepError, InvalidInputError, NotFoundError
from doorstep.privacy.changes import controller
from doorstep.privacy.changes.publish import Marking, Preview, Proposal, preview, publish
from doorstep.privacy.policies import versions
from doorstep.privacy.policies.classify import Change

app = typer.Typer(
    help="Policy versions: publish a new version (classified major or minor), list the "
    "history, show one.",
    no_args_is_help=True,
)


def _line(change: Change) -> str:
    return f"  {change.line()}"


def _print(found: Preview) -> None:
    classification = found.classification
    typer.echo(f"compared with version {found.base.id}:")
    for change in classification.changes:
        typer.echo(_line(change))
    if not classification.changes:
        typer.echo("  no differences")
    verdict = "major" if classification.major else "minor"
    typer.echo(
        f"classified {verdict}"
        + ("; needs each subscriber's acceptance" if classification.requires_acceptance else "")
    )


def _problem(exc: DoorstepError) -> str:
    problems = exc.fields.get("problems") or []
    errors = exc.fields.get("errors") or []
    rules = ", ".join(f"{item['field']}: {item['rule']}" for item in errors)
    return "\n".join([f"{exc.detail}" + (f" ({rules})" if rules else ""), *map(str, problems)])


@app.command("preview")
def preview_command(
    folder: Annotated[Path, typer.Argument(help="The proposed policy pack folder.")],
) -> None:
    """Check a proposed pack and classify its differences from the newest version."""
    with cli_runtime(load_cli_settings(), "doorstep-policy") as runtime:
        from doorstep.services import services_for

        services = services_for(runtime)
        try:
            with runtime.sessions.begin() as session:
                _print(preview(session, services, folder))
        except InvalidInputError as exc:
            fail(_problem(exc), 2)


@app.command("publish")
def publish_command(  # noqa: PLR0917 (Typer: each option is a parameter)
    folder: Annotated[Path, typer.Argument(help="The policy pack folder of the new version.")],
    version: Annotated[str, typer.Option(help="The new version's id, e.g. 1.2.")],
    effective: Annotated[str, typer.Option(help="Effective date, YYYY-MM-DD.")],
    summary: Annotated[str, typer.Option(help="The change summary shown with the version.")],
    major: Annotated[bool, typer.Option("--major", help="Treat it as major.")] = False,
    minor: Annotated[
        bool, typer.Option("--minor", help="Treat a major change as minor (needs --reason).")
    ] = False,
    reason: Annotated[str | None, typer.Option(help="Why a major change is minor.")] = None,
) -> None:
    """Publish a new version of the policy in force."""
    try:
        day = date.fromisoformat(effective)
    except ValueError:
        fail("--effective must be a date, YYYY-MM-DD", 2)
    if major and minor:
        fail("--major and --minor exclude each other", 2)
    marking = Marking.MAJOR if major else Marking.MINOR if minor else Marking.AUTO
    with cli_runtime(load_cli_settings(), "doorstep-policy") as runtime:
        from doorstep.audit.entries import system_actor
        from doorstep.services import services_for

        services = services_for(runtime)
        try:
            with runtime.sessions.begin() as session:
                found = publish(
                    session,
                    services,
                    Proposal(folder, version, day, summary, marking, reason),
                    actor=system_actor("cli"),
                )
        except (InvalidInputError, ConflictError) as exc:
            fail(_problem(exc), 2)
        typer.echo(
            f"published version {found.id}, effective {found.effective_at.date().isoformat()}, "
            + ("major" if found.major else "minor")
            + (f" (marked minor: {found.minor_reason})" if found.minor_reason else "")
        )
        for change in found.changes:
            typer.echo(_line(change))
        if found.major:
            typer.echo("every subscriber is being notified (the worker sends the messages)")


@app.command("list")
def list_command() -> None:
    """Every version, oldest effective date first: id, effective date, major or minor."""
    with cli_runtime(load_cli_settings(), "doorstep-policy") as runtime:
        from doorstep.services import services_for

        services = services_for(runtime)
        with runtime.sessions.begin() as session:
            versions.ensure_initial(session, services.pack, services.terms, runtime.clock)
            for item in versions.all_versions(session):
                kind = "major" if item.major else "minor"
                if item.minor_reason:
                    kind += " (classified major; reason recorded)"
                typer.echo(
                    f"{item.id}\t{item.effective_at.date().isoformat()}\t{kind}\t{item.summary}"
                )


@app.command("show")
def show_command(version: Annotated[str, typer.Argument(help="The version id.")]) -> None:
    """One version: dates, summary, its classified changes and the minor reason if any."""
    with (
        cli_runtime(load_cli_settings(), "doorstep-policy") as runtime,
        runtime.sessions() as session,
    ):
        found = versions.get(session, version)
        if found is None:
            fail(NotFoundError("no such policy version").detail, 1)
        typer.echo(f"version {found.id}")
        typer.echo(f"effective {found.effective_at.isoformat()}")
        typer.echo(f"published {found.published_at.isoformat()}")
        typer.echo(f"summary {found.summary}")
        typer.echo(f"major {str(found.major).lower()}")
        if found.minor_reason:
            typer.echo(f"minor reason {found.minor_reason}")
        for change in found.changes:
            typer.echo(_line(change))


@app.command("change-controller")
def change_controller_command(
    kind: Annotated[str, typer.Option(help="merger, acquisition or liquidation.")],
    successor: Annotated[str, typer.Option(help="The organisation that takes over the data.")],
    contact: Annotated[str, typer.Option(help="The successor's privacy contact (e-mail).")],
    effective: Annotated[str, typer.Option(help="The day it takes over, YYYY-MM-DD.")],
) -> None:
    """Record a change of controller, bound to the newest version; notify every subscriber.

    The successor stays bound to that version: new terms go through ``policy
    publish`` and need each subscriber's acceptance (CPE-III.2.b).
    """
    try:
        day = date.fromisoformat(effective)
    except ValueError:
        fail("--effective must be a date, YYYY-MM-DD", 2)
    with cli_runtime(load_cli_settings(), "doorstep-policy") as runtime:
        from doorstep.audit.entries import system_actor
        from doorstep.services import services_for

        services = services_for(runtime)
        try:
            with runtime.sessions.begin() as session:
                change = controller.record_change(
                    session,
                    services,
                    controller.Successor(kind, successor, contact, day),
                    actor=system_actor("cli"),
                )
                bound = change.policy_version
                change_id = change.id
        except InvalidInputError as exc:
            fail(_problem(exc), 2)
        typer.echo(f"recorded change of controller {change_id}, bound to version {bound}")
        typer.echo("every subscriber is being notified (the worker sends the messages)")


@app.command("controller-changes")
def controller_changes_command() -> None:
    """Every change of controller: id, kind, successor, day, bound version, subscribers told."""
    with (
        cli_runtime(load_cli_settings(), "doorstep-policy") as runtime,
        runtime.sessions() as session,
    ):
        for item in controller.changes(session):
            typer.echo(
                f"{item.id}\t{item.kind}\t{item.successor}\t{item.effective_on.isoformat()}\t"
                f"bound to {item.policy_version}\ttold {controller.told(session, item)}"
            )
