"""The operator console's schema-drift page: what devices and apps sent that no purpose declares.

* ``GET /console/drift`` (``view_records``) — the counts of
  :func:`doorstep.privacy.transfers.ingestion.drift`: per source (device or
  app), device model or client kind, path and purpose, how many times the field
  was dropped before storage, first and last seen (CPE-IV.3.a, CPE-0.4);
  ``?source=device|client`` narrows the list to one source.  Read-only.

The table holds names and counts only, never a value: a field name that was not
plainly a path was counted as ``<unnamed>`` when it was dropped.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from sqlalchemy.orm import Session

from doorstep.privacy.transfers.ingestion import Drift, drift
from doorstep.privacy.transfers.models import DriftSource
from doorstep.staff.permissions import StaffAction
from doorstep.web.console.staff_work import act, must
from doorstep.web.i18n import _
from doorstep.web.session import PageStaff
from doorstep.web.templating import render

router = APIRouter(include_in_schema=False)

#: How the page names each source.
SOURCES = {
    DriftSource.DEVICE.value: _("Device"),
    DriftSource.CLIENT.value: _("App"),
}


@router.get("/console/drift", response_class=HTMLResponse)
def drift_page(request: Request, staff: PageStaff, source: str = "") -> HTMLResponse:
    """The schema-drift counts, most recent first (of one source, or all)."""

    def work(session: Session, actor: str) -> list[Drift]:
        return drift(session)

    rows = must(act(request, staff, StaffAction.VIEW_RECORDS, work))
    error = None if not source or source in SOURCES else _("Choose a source from the list.")
    chosen = source if error is None else ""
    shown = [row for row in rows if not chosen or row.source.value == chosen]
    totals = {key: sum(r.count for r in rows if r.source.value == key) for key in SOURCES}
    return render(
        request,
        "console/drift.html",
        status_code=422 if error else 200,
        rows=shown,
        sources=SOURCES,
        source=chosen,
        totals=totals,
        error=error,
    )
