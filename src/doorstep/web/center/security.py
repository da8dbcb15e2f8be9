"""The public security page: the published security impact assessments (CPE-IV.5).

``GET /security`` needs no sign-in: the policy promises to publicise its
personal information security impact assessment reports, so every published
version is listed, newest first, with its date, the risk it found, its summary
and where the full report is (the same list as ``GET
/api/v1/security-assessments``), and how to ask for a report by e-mail.
Drafts are never shown.  The page reads nothing personal.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from doorstep.privacy.controls.models import RiskLevel
from doorstep.privacy.controls.services import published_assessments
from doorstep.web.i18n import _
from doorstep.web.templating import render
from doorstep.web.work import attempt, services_of

router = APIRouter(include_in_schema=False)

RISKS: dict[str, str] = {
    RiskLevel.LOW: _("Low"),
    RiskLevel.MEDIUM: _("Medium"),
    RiskLevel.HIGH: _("High"),
}


@router.get("/security", response_class=HTMLResponse)
def security(request: Request) -> HTMLResponse:
    """Every published security impact assessment, newest first."""
    outcome = attempt(request, published_assessments)
    if outcome.error is not None:
        raise outcome.error
    return render(
        request,
        "center/security.html",
        assessments=outcome.value or [],
        risks=RISKS,
        controller=services_of(request).pack.controller,
    )
