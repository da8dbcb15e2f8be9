"""What the ``doorstep incidents`` command groups share: the unit of work, parsing, output.

:func:`work_in` runs one step in one transaction with the incident context and
maps the service's errors to exit codes (bad input 2 with the field and rule, a
state that does not allow the step 1; nothing changed either way).  Output is
JSON or short lines of ids, names, counts, states and instants, never a value of
anyone's data.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from datetime import datetime
from typing import Annotated, Any, TypeVar

import typer
from sqlalchemy.orm import Session

from doorstep.core.commands import cli_runtime, fail, load_cli_settings
from doorstep.core.errors import DoorstepError, InvalidInputError
from doorstep.core.runtime import Runtime
from doorstep.privacy.incidents.context import IncidentContext

T = TypeVar("T")
#: The ``--actor`` option every changing command takes.
Actor = Annotated[str, typer.Option(help="Who acts, e.g. staff:<uuid>.")]
#: The incident id argument.
IncidentId = Annotated[str, typer.Argument(help="The incident's id.")]


def _detail(exc: DoorstepError) -> str:
    errors = exc.fields.get("errors") or []
    named = ", ".join(f"{item.get('field')}: {item.get('rule')}" for item in errors)
    return f"{exc.detail} ({named})" if named else exc.detail


def work_in(work: Callable[[Session, IncidentContext, Runtime], T]) -> T:
    """Run ``work`` in one transaction; exit 2 on bad input, 1 on a refused step."""
    with cli_runtime(load_cli_settings(), "doorstep-incidents") as runtime:
        from doorstep.services import services_for

        try:
            with runtime.sessions.begin() as session:
                return work(session, IncidentContext.of(services_for(runtime)), runtime)
        except InvalidInputError as exc:
            fail(_detail(exc), 2)
        except DoorstepError as exc:
            fail(_detail(exc), 1)


def parse_id(value: str) -> uuid.UUID:
    """``value`` as a UUID, else exit 2."""
    try:
        return uuid.UUID(value)
    except ValueError:
        fail("the id must be a UUID", 2)


def parse_instant(value: str | None, name: str) -> datetime | None:
    """``value`` as an ISO 8601 instant with its offset (None stays None), else exit 2."""
    if value is None:
        return None
    try:
        found = datetime.fromisoformat(value)
    except ValueError:
        fail(f"--{name} must be an ISO 8601 instant with its offset", 2)
    if found.tzinfo is None:
        fail(f"--{name} must carry its offset (Z or +01:00)", 2)
    return found


def echo_json(data: Any) -> None:
    """Print ``data`` as indented JSON."""
    typer.echo(json.dumps(data, indent=2, default=str, ensure_ascii=False))


def show_incident(session: Session, ctx: IncidentContext, incident_id: uuid.UUID) -> dict[str, Any]:
    """The incident's summary as of now, as a mapping."""
    from dataclasses import asdict

    from doorstep.privacy.incidents.services import get
    from doorstep.privacy.incidents.views import summary

    return asdict(summary(session, get(session, incident_id), ctx.clock.now()))
