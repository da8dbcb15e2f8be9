"""``doorstep incidents`` commands that tell the subjects: write the notice, notify, list
deliveries, open and close desk tasks, publish a public notice, withhold on a legal ground.

Registered on the ``incidents`` group by :mod:`.cli`; see :mod:`._cli_support`
for exit codes and output.
"""

from __future__ import annotations

from typing import Annotated

import typer
from sqlalchemy.orm import Session

from doorstep.core.runtime import Runtime
from doorstep.privacy.incidents._cli_support import (
    Actor,
    IncidentId,
    echo_json,
    parse_id,
    parse_instant,
    work_in,
)
from doorstep.privacy.incidents.context import IncidentContext

app = typer.Typer()


@app.command("notice")
def notice(  # noqa: PLR0917 - Typer maps options to parameters
    incident_id: IncidentId,
    actor: Actor,
    locale: Annotated[str, typer.Option(help="The language of this text.")] = "en",
    basic_situation: Annotated[str | None, typer.Option(help="What happened.")] = None,
    possible_impact: Annotated[str | None, typer.Option(help="What it may mean for them.")] = None,
    measures: Annotated[str | None, typer.Option(help="Measures taken or planned.")] = None,
    self_protection_advice: Annotated[
        str | None, typer.Option(help="How to protect themselves.")
    ] = None,
    remedies: Annotated[str | None, typer.Option(help="The remedies offered.")] = None,
) -> None:
    """Write the notice's parts in one language (parts not given keep their text)."""
    from doorstep.privacy.incidents.notices import missing_parts, set_notice

    parts = {
        "basic_situation": basic_situation,
        "possible_impact": possible_impact,
        "measures": measures,
        "self_protection_advice": self_protection_advice,
        "remedies": remedies,
    }

    def work(session: Session, ctx: IncidentContext, runtime: Runtime) -> list[str]:
        row = set_notice(session, ctx, parse_id(incident_id), parts, actor=actor, locale=locale)
        return missing_parts(row)

    missing = work_in(work)
    typer.echo("complete" if not missing else "missing: " + ", ".join(missing))


@app.command("notify")
def notify(incident_id: IncidentId, actor: Actor) -> None:
    """Start (or resume) the notices to every affected subject; a worker sends them."""
    from doorstep.privacy.incidents.fanout import start

    work_in(lambda session, ctx, runtime: start(session, ctx, parse_id(incident_id), actor=actor))
    typer.echo("notices queued for the worker")


@app.command("deliveries")
def deliveries(
    incident_id: IncidentId,
    limit: Annotated[
        int, typer.Option(min=1, max=10_000, help="At most this many subjects.")
    ] = 100,
) -> None:
    """Per subject: jurisdiction, notice status and each channel's delivery status."""
    from doorstep.privacy.incidents.outcomes import sync_deliveries
    from doorstep.privacy.incidents.views import subject_statuses

    def work(session: Session, ctx: IncidentContext, runtime: Runtime) -> list[dict[str, object]]:
        sync_deliveries(session, ctx)
        return subject_statuses(session, parse_id(incident_id), limit=limit)

    echo_json(work_in(work))


@app.command("desk-task")
def desk_task(
    incident_id: IncidentId,
    channel: Annotated[str, typer.Option(help="letter or phone_call.")],
    actor: Actor,
    subject: Annotated[
        str | None, typer.Option(help="One subject (default: every unreachable one).")
    ] = None,
) -> None:
    """Open letter or phone-call tasks on the desk."""
    from doorstep.privacy.incidents.desk_tasks import open_desk_tasks

    opened = work_in(
        lambda session, ctx, runtime: open_desk_tasks(
            session,
            ctx,
            parse_id(incident_id),
            channel,
            actor=actor,
            subject_id=parse_id(subject) if subject else None,
        )
    )
    typer.echo(f"{opened} task(s) opened")


@app.command("close-task")
def close_task(
    delivery_id: Annotated[str, typer.Argument(help="The task's delivery id.")],
    outcome: Annotated[str, typer.Option(help="done or failed.")],
    actor: Actor,
) -> None:
    """Close a letter or phone-call task."""
    from doorstep.privacy.incidents.desk_tasks import close_desk_task

    work_in(
        lambda session, ctx, runtime: close_desk_task(
            session, ctx, parse_id(delivery_id), outcome, actor=actor
        )
    )
    typer.echo(f"task {outcome}")


@app.command("public-notice")
def public_notice(
    incident_id: IncidentId,
    url: Annotated[str, typer.Option(help="Where the notice is published (https).")],
    reason: Annotated[str, typer.Option(help="contact_failed or impracticable.")],
    actor: Actor,
) -> None:
    """Record a public notice that replaces individual contact, and the decision."""
    from doorstep.privacy.incidents.desk_tasks import publish_public_notice

    row = work_in(
        lambda session, ctx, runtime: publish_public_notice(
            session, ctx, parse_id(incident_id), url=url, reason=reason, actor=actor
        )
    )
    typer.echo(f"public notice {row.id} recorded ({row.unreached} of {row.affected} unreached)")


@app.command("withhold")
def withhold(  # noqa: PLR0917 - Typer maps options to parameters
    incident_id: IncidentId,
    jurisdiction: Annotated[str, typer.Option(help="Whose subjects' notice is delayed.")],
    authority: Annotated[str, typer.Option(help="The authority that asked.")],
    legal_reference: Annotated[str, typer.Option(help="The legal reference of the ground.")],
    until: Annotated[str, typer.Option(help="When the ground lapses (ISO 8601 with offset).")],
    actor: Actor,
) -> None:
    """Delay the subjects' notice of one jurisdiction on a recorded legal ground."""
    from doorstep.privacy.incidents.reports import withhold as hold

    lapses = parse_instant(until, "until")
    assert lapses is not None
    work_in(
        lambda session, ctx, runtime: hold(
            session,
            ctx,
            parse_id(incident_id),
            jurisdiction,
            authority=authority,
            legal_reference=legal_reference,
            until=lapses,
            actor=actor,
        )
    )
    typer.echo(f"withheld until {lapses.isoformat()}")
