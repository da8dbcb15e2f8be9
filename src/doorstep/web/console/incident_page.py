"""What the incident pages share: the wording of their forms and the page of one incident.

:func:`incident_page` renders ``console/incident.html`` from the desk's view of
the incident (:func:`doorstep.privacy.incidents.desk.show`: ids, names,
counts, states and clocks, never a value of anyone's data), with a message per
field and the values sent back when a form was refused (nothing changed then).
:func:`refused` is that re-rendering for an action's :class:`~doorstep.web.work.Outcome`.
:func:`instant` and :func:`names` read the forms' times and lists.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from sqlalchemy.orm import Session

from doorstep.core.errors import ConflictError, InvalidInputError, NotFoundError
from doorstep.locale import available
from doorstep.privacy.incidents.context import IncidentContext
from doorstep.privacy.incidents.desk import show
from doorstep.privacy.incidents.models import NOTICE_PARTS
from doorstep.privacy.incidents.notices import notices
from doorstep.privacy.incidents.schemas import IncidentOut
from doorstep.staff.permissions import StaffAction
from doorstep.staff.services import Staff
from doorstep.web.console.staff_work import act, field_errors, must
from doorstep.web.i18n import _
from doorstep.web.templating import render
from doorstep.web.work import Outcome, services_of

#: What a form field says for a rule the services name (the page's own words).
WORDING: dict[tuple[str, str], str] = {
    ("aware_at", "not_in_future"): _("When you became aware cannot lie in the future."),
    ("aware_at", "instant"): _("Enter a date and time, like 2026-01-31 14:00 (UTC)."),
    ("window_start", "instant"): _("Enter a date and time, like 2026-01-31 14:00 (UTC)."),
    ("window_start", "before_window_end"): _("The window must start before it ends."),
    ("window_end", "instant"): _("Enter a date and time, like 2026-01-31 14:00 (UTC)."),
    ("window_end", "not_in_future"): _("The window cannot end in the future."),
    ("systems", "known_table"): _("Name tables of the data map, such as outbox."),
    ("systems", "max_length"): _("The list is too long."),
    ("elements", "known_personal_element"): _(
        "Name personal elements of the data map as table.column, such as accounts.phone."
    ),
    ("device_models", "max_length"): _("The list is too long."),
    ("device_ids", "uuid"): _("Enter device ids (UUIDs), one per line."),
    ("device_ids", "max_length"): _("The list is too long."),
    ("subject_ids", "uuid"): _("Enter data subject ids (UUIDs), one per line."),
    ("jurisdictions", "pack_jurisdiction"): _("Choose jurisdictions the policy pack names."),
    ("risk", "one_of_low_significant"): _("Choose low or significant."),
    ("locale", "available"): _("Choose a language Doorstep speaks."),
    ("url", "https_url"): _("Enter the https address where the notice is published."),
    ("reason", "one_of_contact_failed_impracticable"): _("Choose why contact is replaced."),
    ("authority", "required_max_200"): _("Name the authority that asked (up to 200 characters)."),
    ("legal_reference", "required_max_200"): _(
        "Enter the legal reference of the ground (up to 200 characters)."
    ),
    ("until", "future"): _("The ground must lapse in the future."),
    ("until", "instant"): _("Enter a date and time, like 2026-01-31 14:00 (UTC)."),
    ("reference", "code"): _(
        "Enter the authority's reference: letters, digits and / _ . : - only, like EDPB-2026/7."
    ),
    ("filed_at", "not_in_future"): _("The filing time cannot lie in the future."),
    ("filed_at", "instant"): _("Enter a date and time, like 2026-01-31 14:00 (UTC)."),
    **{
        (part, "required"): _("This part must be written before notices go out.")
        for part in NOTICE_PARTS
    },
    **{(part, "max_length"): _("This part is too long.") for part in NOTICE_PARTS},
}
#: What the page says when the state does not allow a step (the service's ``rule``).
CONFLICTS: dict[str, str] = {
    "rated": _("Rate the incident's risk before the notices go out."),
    "unreached": _("No subject is unreachable: individual contact has not failed."),
    "affected": _("The incident affects no subject."),
    "authority_report": _("Only a report to an authority is filed or exported."),
}
#: Labels of the codes the pages show.
KINDS: dict[str, str] = {
    "loss": _("Loss"),
    "disclosure": _("Disclosure"),
    "alteration": _("Alteration"),
    "unauthorised_access": _("Unauthorised access"),
}
PARTS: dict[str, str] = {
    "basic_situation": _("What happened"),
    "possible_impact": _("What it may mean for them"),
    "measures": _("Measures taken or planned"),
    "self_protection_advice": _("How they can protect themselves"),
    "remedies": _("Remedies offered"),
}


def context_of(request: Request) -> IncidentContext:
    """The incident context of the app's services."""
    return IncidentContext.of(services_of(request))


def instant(value: str, field: str) -> datetime | None:
    """A form's date and time: ISO 8601, UTC when it names no offset; None when empty."""
    if not value:
        return None
    try:
        found = datetime.fromisoformat(value)
    except ValueError:
        raise InvalidInputError(
            "enter a date and time", errors=[{"field": field, "rule": "instant"}]
        ) from None
    return found if found.tzinfo is not None else found.replace(tzinfo=UTC)


def names(value: str) -> list[str]:
    """The entries of a list field: one per line or comma, blanks dropped."""
    return [item.strip() for item in value.replace(",", "\n").splitlines() if item.strip()]


def ids(value: str, field: str) -> list[uuid.UUID]:
    """The UUIDs of a list field; InvalidInputError naming ``field`` for anything else."""
    try:
        return [uuid.UUID(item) for item in names(value)]
    except ValueError:
        raise InvalidInputError(
            "enter ids (UUIDs)", errors=[{"field": field, "rule": "uuid"}]
        ) from None


def incident_page(
    request: Request,
    staff: Staff,
    incident_id: uuid.UUID,
    *,
    status_code: int = 200,
    errors: dict[str, str] | None = None,
    error: str | None = None,
    values: dict[str, str] | None = None,
) -> HTMLResponse:
    """The incident page: its facts, clocks, deliveries and the forms of the workflow."""
    ctx = context_of(request)

    def work(session: Session, actor: str) -> tuple[IncidentOut, dict[str, dict[str, str]]]:
        view = show(session, ctx, incident_id)
        written = {
            locale: {part: str(getattr(row, part)) for part in NOTICE_PARTS}
            for locale, row in notices(session, incident_id).items()
        }
        return view, written

    view, written = must(act(request, staff, StaffAction.MANAGE_INCIDENTS, work))
    return render(
        request,
        "console/incident.html",
        status_code=status_code,
        incident=view,
        written=written,
        kinds=KINDS,
        parts=PARTS,
        locales=sorted(available()),
        jurisdictions=sorted(ctx.rules.jurisdictions),
        now=ctx.clock.now(),
        errors=errors or {},
        error=error,
        values=values or {},
    )


def refused(
    request: Request,
    staff: Staff,
    incident_id: uuid.UUID,
    outcome: Outcome[Any],
    values: dict[str, str],
) -> HTMLResponse:
    """The incident again, saying why the step was not taken (nothing changed)."""
    failure = outcome.error
    assert failure is not None
    if isinstance(failure, NotFoundError) and not values.get("obligation"):
        must(outcome)  # no such incident: the 404 page
    message = _("This cannot be done now.")
    if isinstance(failure, InvalidInputError):
        message = _("Please correct what is marked below.")
    elif isinstance(failure, NotFoundError):
        message = _("There is no such obligation or task.")
    elif isinstance(failure, ConflictError):
        message = CONFLICTS.get(str(failure.fields.get("rule", "")), message)
    return incident_page(
        request,
        staff,
        incident_id,
        status_code=failure.status,
        errors=field_errors(outcome, WORDING),
        error=message,
        values=values,
    )
