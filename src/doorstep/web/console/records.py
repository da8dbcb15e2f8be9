"""The operator console's records: retention, the record of processing, the audit trail, devices.

* ``GET /console/retention`` (``view_records``) — the retention plan (what a
  sweep now would do, per rule and table, with counts: ``doorstep retention
  plan``) and the sweeps so far, read back from the audit trail (what
  ``doorstep retention report`` tabulates); ``GET /console/retention/report.md``
  is that report itself.  Read-only.
* ``GET /console/datamap`` (``view_records``) — the record of processing
  activities (GDPR Art. 30) built by :func:`doorstep.privacy.datamap.ropa.build_ropa`,
  as tables (``?purpose=`` narrows the elements to one activity's);
  ``GET /console/datamap/ropa.json|csv|md`` are the documents
  ``doorstep datamap ropa --format json|csv|markdown`` writes.
* ``GET /console/audit`` (``verify_audit``) — the trail's state; ``POST
  /console/audit/verify`` verifies it from the newest checkpoint and shows the
  result on the page (intact with the links checked, or the first broken link).
* The device look-up (:mod:`.devices`) is mounted with this router.

Every page checks its staff action first (a refusal is the 403 page, audited
by ``require_action``).  Nothing here shows a value of personal data: plans,
reports and the record name rules, tables, columns and counts.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy.orm import Session

from doorstep.audit.services import VerifyReport
from doorstep.core.errors import NotFoundError
from doorstep.core.memo import by_identity
from doorstep.privacy.datamap.pack import PolicyPack
from doorstep.privacy.datamap.ropa import Ropa, build_ropa
from doorstep.privacy.datamap.ropa_formats import render as render_ropa
from doorstep.privacy.datamap.wording import iso_period
from doorstep.privacy.retention.report import LastSweep, PlanLine, last_sweeps, plan, report
from doorstep.privacy.retention.targets import Target, targets
from doorstep.staff.permissions import StaffAction
from doorstep.web.console import devices
from doorstep.web.console.audit import TrailState, trail_state, verify_trail
from doorstep.web.console.staff_work import Form, act, must
from doorstep.web.i18n import _
from doorstep.web.session import PageStaff
from doorstep.web.templating import render
from doorstep.web.work import services_of

router = APIRouter(include_in_schema=False)
router.include_router(devices.router)

#: ``/console/datamap/ropa.<suffix>``: the renderer's format and the media type.
DOWNLOADS = {
    "json": ("json", "application/json"),
    "csv": ("csv", "text/csv; charset=utf-8"),
    "md": ("markdown", "text/markdown; charset=utf-8"),
}
#: What a sweep does at expiry, in words (by ``Target.action_name``).
ACTIONS = {
    "delete": _("delete the rows"),
    "anonymise": _("anonymise the rows"),
    "prune": _("prune the oldest events"),
}


def _targets(request: Request) -> list[Target]:
    from doorstep.schema import metadata

    services = services_of(request)
    return targets(metadata, services.pack, services.runtime.settings)


@by_identity
def _ropa(pack: PolicyPack) -> Ropa:
    """The record of processing of this schema and ``pack``, the one in force (built once)."""
    from doorstep.schema import metadata

    return build_ropa(metadata, pack)


# -- retention -----------------------------------------------------------------------------


@router.get("/console/retention", response_class=HTMLResponse)
def retention(request: Request, staff: PageStaff) -> HTMLResponse:
    """The retention plan now and the sweeps so far."""
    chosen = _targets(request)
    now = services_of(request).runtime.clock.now()

    def work(
        session: Session, actor: str
    ) -> tuple[list[PlanLine], dict[tuple[str, str], LastSweep]]:
        return plan(session, chosen, now), last_sweeps(session)

    lines, sweeps = must(act(request, staff, StaffAction.VIEW_RECORDS, work))
    swept = [line for line in lines if line.target.sweeps]
    history = [
        (line.target, sweeps[key])
        for line in swept
        if (key := (line.target.rule.key, str(line.target.table.name))) in sweeps
    ]
    return render(
        request,
        "console/retention.html",
        lines=lines,
        now=now,
        due=sum(line.due or 0 for line in lines),
        swept=len(swept),
        history=history,
        actions=ACTIONS,
        iso_period=iso_period,
    )


@router.get("/console/retention/report.md")
def retention_report(request: Request, staff: PageStaff) -> Response:
    """The auditor's Markdown report, as ``doorstep retention report`` writes it."""
    chosen = _targets(request)
    services = services_of(request)
    runtime, pack = services.runtime, services.pack

    def work(session: Session, actor: str) -> str:
        return report(session, pack, chosen, runtime.settings, runtime.clock.now())

    text = must(act(request, staff, StaffAction.VIEW_RECORDS, work))
    return Response(
        text,
        media_type="text/markdown; charset=utf-8",
        headers={"content-disposition": 'attachment; filename="retention-report.md"'},
    )


# -- the record of processing --------------------------------------------------------------


@router.get("/console/datamap", response_class=HTMLResponse)
def datamap(request: Request, staff: PageStaff, purpose: str = "") -> HTMLResponse:
    """The record of processing activities as tables (elements of one purpose, or all)."""
    must(act(request, staff, StaffAction.VIEW_RECORDS, lambda session, actor: None))
    ropa = _ropa(services_of(request).pack)
    purposes = [activity.purpose for activity in ropa.activities]
    error = None if not purpose or purpose in purposes else _("Choose a purpose from the list.")
    chosen = purpose if error is None else ""
    elements = [item for item in ropa.elements if not chosen or chosen in item.purposes]
    return render(
        request,
        "console/datamap.html",
        status_code=422 if error else 200,
        ropa=ropa,
        purposes=purposes,
        purpose=chosen,
        elements=elements,
        limits=sorted({item.retention for item in ropa.elements}, key=lambda limit: limit.rule),
        error=error,
    )


@router.get("/console/datamap/ropa.{suffix}")
def datamap_download(request: Request, suffix: str, staff: PageStaff) -> Response:
    """The record of processing as JSON, CSV or Markdown (an attachment)."""
    if suffix not in DOWNLOADS:
        raise NotFoundError("no such format")
    must(act(request, staff, StaffAction.VIEW_RECORDS, lambda session, actor: None))
    fmt, media_type = DOWNLOADS[suffix]
    return Response(
        render_ropa(_ropa(services_of(request).pack), fmt),
        media_type=media_type,
        headers={"content-disposition": f'attachment; filename="ropa.{suffix}"'},
    )


# -- the audit trail -----------------------------------------------------------------------


def _audit_page(
    request: Request, state: TrailState, result: VerifyReport | None, status_code: int = 200
) -> HTMLResponse:
    return render(
        request, "console/audit.html", status_code=status_code, trail=state, result=result
    )


@router.get("/console/audit", response_class=HTMLResponse)
def audit(request: Request, staff: PageStaff) -> HTMLResponse:
    """Where the audit trail stands, and the button that verifies it."""
    state = must(
        act(request, staff, StaffAction.VERIFY_AUDIT, lambda session, actor: trail_state(session))
    )
    return _audit_page(request, state, None)


@router.post("/console/audit/verify", response_class=HTMLResponse)
def verify(request: Request, staff: PageStaff, form: Form) -> HTMLResponse:
    """Verify the links since the newest checkpoint; the page shows the result.

    Verifying changes nothing but the trail itself (it records who verified),
    so the result is shown in the answer to the POST rather than after a redirect.
    """
    now = services_of(request).runtime.clock.now()

    def work(session: Session, actor: str) -> tuple[VerifyReport, TrailState]:
        result = verify_trail(session, now=now, actor=actor)
        return result, trail_state(session)

    result, state = must(act(request, staff, StaffAction.VERIFY_AUDIT, work))
    return _audit_page(request, state, result)
