"""The incident page's forms: each step of the workflow, in a transaction of its own.

``POST /console/incidents/{id}/…``: ``rate``, ``tasks/{task}`` (done),
``affected`` (compute again), ``notice`` (the five parts in one language),
``notify`` (start the notices: a worker sends them), ``public-notice``,
``withhold`` (a legal ground), ``obligations/{obligation}/file`` and
``…/acknowledge``, ``close``.  Each calls the service the console API calls
(``manage_incidents``; the services audit every change), goes back to the
incident with ``?done=`` on success, and re-renders it with a message per
field or a message about the state when refused: nothing changed then.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from doorstep.core.errors import InvalidInputError
from doorstep.privacy.incidents import desk_tasks, fanout, reports
from doorstep.privacy.incidents import services as svc
from doorstep.privacy.incidents.desk import obligation_of
from doorstep.privacy.incidents.models import NOTICE_PARTS
from doorstep.privacy.incidents.notices import set_notice
from doorstep.staff.permissions import StaffAction
from doorstep.staff.services import Staff
from doorstep.web.console.incident_page import context_of, instant, refused
from doorstep.web.console.staff_work import Form, act, text
from doorstep.web.i18n import _
from doorstep.web.session import PageStaff
from doorstep.web.templating import DONE

router = APIRouter(include_in_schema=False)

DONE.update(
    {
        "incident_rated": _("The risk is rated."),
        "incident_task_done": _("The task is marked done."),
        "incident_affected": _("The affected subscribers were computed again."),
        "incident_notice_set": _("The notice is saved."),
        "incident_notified": _(
            "The notices are on their way: a worker sends them by e-mail and SMS. "
            "Reload this page to follow the deliveries."
        ),
        "incident_public_notice": _("The public notice and the decision are recorded."),
        "incident_withheld": _("The notice to this jurisdiction waits until the ground lapses."),
        "incident_filed": _("The report is recorded as filed."),
        "incident_acknowledged": _("The report is recorded as acknowledged."),
        "incident_closed": _("The incident is closed."),
    }
)


def _step(
    request: Request,
    staff: Staff,
    incident_id: uuid.UUID,
    work: Callable[[Session, str], object],
    done: str,
    *,
    values: dict[str, str],
) -> Response:
    outcome = act(request, staff, StaffAction.MANAGE_INCIDENTS, lambda s, a: work(s, a) or True)
    if not outcome.ok:
        return refused(request, staff, incident_id, outcome, values)
    return RedirectResponse(f"/console/incidents/{incident_id}?done={done}", status_code=303)


@router.post("/console/incidents/{incident_id}/rate", response_class=HTMLResponse)
def rate(request: Request, incident_id: uuid.UUID, staff: PageStaff, form: Form) -> Response:
    """Rate the risk (CPE-IV.1.e)."""
    ctx, risk = context_of(request), text(form, "risk")
    return _step(
        request,
        staff,
        incident_id,
        lambda session, actor: svc.rate(session, ctx, incident_id, risk, actor=actor),
        "incident_rated",
        values={"risk": risk},
    )


@router.post("/console/incidents/{incident_id}/tasks/{task}", response_class=HTMLResponse)
def task_done(
    request: Request, incident_id: uuid.UUID, task: str, staff: PageStaff, form: Form
) -> Response:
    """Mark an emergency-plan task done."""
    ctx = context_of(request)
    return _step(
        request,
        staff,
        incident_id,
        lambda session, actor: svc.complete_task(session, ctx, incident_id, task, actor=actor),
        "incident_task_done",
        values={},
    )


@router.post("/console/incidents/{incident_id}/affected", response_class=HTMLResponse)
def affected(request: Request, incident_id: uuid.UUID, staff: PageStaff, form: Form) -> Response:
    """Compute the affected subscribers again (new ones are added)."""
    ctx = context_of(request)

    def work(session: Session, actor: str) -> int:
        return svc.recompute(session, ctx, svc.get(session, incident_id, lock=True), actor)

    return _step(request, staff, incident_id, work, "incident_affected", values={})


@router.post("/console/incidents/{incident_id}/notice", response_class=HTMLResponse)
def notice(request: Request, incident_id: uuid.UUID, staff: PageStaff, form: Form) -> Response:
    """Write the notice's five parts in one language."""
    ctx = context_of(request)
    locale = text(form, "locale") or "en"
    parts = {part: text(form, part) for part in NOTICE_PARTS}

    def work(session: Session, actor: str) -> object:
        return set_notice(session, ctx, incident_id, parts, actor=actor, locale=locale)

    return _step(
        request, staff, incident_id, work, "incident_notice_set", values={"locale": locale, **parts}
    )


@router.post("/console/incidents/{incident_id}/notify", response_class=HTMLResponse)
def notify(request: Request, incident_id: uuid.UUID, staff: PageStaff, form: Form) -> Response:
    """Start (or resume) the notices to every affected subscriber."""
    ctx = context_of(request)
    return _step(
        request,
        staff,
        incident_id,
        lambda session, actor: fanout.start(session, ctx, incident_id, actor=actor),
        "incident_notified",
        values={},
    )


@router.post("/console/incidents/{incident_id}/public-notice", response_class=HTMLResponse)
def public_notice(
    request: Request, incident_id: uuid.UUID, staff: PageStaff, form: Form
) -> Response:
    """Record a public notice that replaces individual contact (CPE-IV.7.c)."""
    ctx = context_of(request)
    url, reason = text(form, "url"), text(form, "reason")

    def work(session: Session, actor: str) -> object:
        return desk_tasks.publish_public_notice(
            session, ctx, incident_id, url=url, reason=reason, actor=actor
        )

    return _step(
        request,
        staff,
        incident_id,
        work,
        "incident_public_notice",
        values={"url": url, "reason": reason},
    )


@router.post("/console/incidents/{incident_id}/withhold", response_class=HTMLResponse)
def withhold(request: Request, incident_id: uuid.UUID, staff: PageStaff, form: Form) -> Response:
    """Delay one jurisdiction's notice on a recorded legal ground (decision 0018)."""
    ctx = context_of(request)
    values = {
        name: text(form, name) for name in ("jurisdiction", "authority", "legal_reference", "until")
    }

    def work(session: Session, actor: str) -> object:
        lapses = instant(values["until"], "until")
        if lapses is None:
            raise InvalidInputError(
                "when the ground lapses", errors=[{"field": "until", "rule": "instant"}]
            )
        return reports.withhold(
            session,
            ctx,
            incident_id,
            values["jurisdiction"],
            authority=values["authority"],
            legal_reference=values["legal_reference"],
            until=lapses,
            actor=actor,
        )

    return _step(request, staff, incident_id, work, "incident_withheld", values=values)


@router.post(
    "/console/incidents/{incident_id}/obligations/{obligation_id}/file",
    response_class=HTMLResponse,
)
def file_report(
    request: Request,
    incident_id: uuid.UUID,
    obligation_id: uuid.UUID,
    staff: PageStaff,
    form: Form,
) -> Response:
    """Record that the report to an authority was filed (with its reference)."""
    ctx = context_of(request)
    reference, filed_at = text(form, "reference"), text(form, "filed_at")

    def work(session: Session, actor: str) -> object:
        obligation_of(session, incident_id, obligation_id)
        return reports.file_report(
            session,
            ctx,
            obligation_id,
            actor=actor,
            reference=reference or None,
            filed_at=instant(filed_at, "filed_at"),
        )

    values = {"obligation": str(obligation_id), "reference": reference, "filed_at": filed_at}
    return _step(request, staff, incident_id, work, "incident_filed", values=values)


@router.post(
    "/console/incidents/{incident_id}/obligations/{obligation_id}/acknowledge",
    response_class=HTMLResponse,
)
def acknowledge(
    request: Request,
    incident_id: uuid.UUID,
    obligation_id: uuid.UUID,
    staff: PageStaff,
    form: Form,
) -> Response:
    """Record that the authority acknowledged the report."""
    ctx = context_of(request)

    def work(session: Session, actor: str) -> object:
        obligation_of(session, incident_id, obligation_id)
        return reports.acknowledge(session, ctx, obligation_id, actor=actor)

    values = {"obligation": str(obligation_id)}
    return _step(request, staff, incident_id, work, "incident_acknowledged", values=values)


@router.post("/console/incidents/{incident_id}/close", response_class=HTMLResponse)
def close(request: Request, incident_id: uuid.UUID, staff: PageStaff, form: Form) -> Response:
    """Close the incident once its tasks are done and its obligations met or filed."""
    ctx = context_of(request)
    return _step(
        request,
        staff,
        incident_id,
        lambda session, actor: svc.close(session, ctx, incident_id, actor=actor),
        "incident_closed",
        values={},
    )
