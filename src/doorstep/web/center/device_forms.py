"""Reading the "My devices" forms, and binding a device from the bind form.

Private helpers of :mod:`doorstep.web.center.devices`:

* :func:`raw` and :func:`required` read fields as typed (secrets are not
  stripped) and name the empty ones;
* :func:`bind_claim` checks the bind form (a typed claim code or a scanned QR
  payload), binds through :func:`doorstep.devices.binding.bind` in a
  transaction of its own and returns the binding or the :class:`Problem` the
  page shows.  A wrong code is the service's answer, not a failure to undo:
  :class:`ClaimRejectedError` and :class:`ClaimLockedError` are caught *inside*
  the work so that its transaction commits the failure counts the lockout
  relies on (``binding.bind``'s contract; the REST API does the same).  Every
  other error rolls the transaction back (refusals of the gate stay audited).

Nothing typed is put into a message: not the code, not the payload.
"""

from __future__ import annotations

import uuid
from dataclasses import replace

from fastapi import Request
from sqlalchemy.orm import Session
from starlette.datastructures import FormData

from doorstep.core.errors import DoorstepError
from doorstep.devices import binding
from doorstep.devices._limits import Limits
from doorstep.devices.exceptions import ClaimLockedError, ClaimRejectedError
from doorstep.devices.inventory import installation_key
from doorstep.privacy.policies.answers import Policy
from doorstep.web.center.device_view import (
    CODE_RULE,
    MESSAGES,
    QR_RULE,
    REQUIRED,
    RULES,
    SOMETHING,
    Problem,
    problem_of,
)
from doorstep.web.i18n import _
from doorstep.web.work import attempt, services_of

#: Longest inputs accepted from the bind form (as the API's request schema).
MAX_CLAIM_CODE, MAX_QR_PAYLOAD = 64, 256
CORRECT = _("Please correct what is marked below.")
TYPE_THE_CODE = _("Type the code printed on the label.")
CAMERA_NEEDED = _(
    "Scanning the QR code needs your consent to use the camera. "
    "Type the claim code instead, or allow the camera in your consents."
)


def raw(form: FormData, name: str) -> str:
    """A form field as typed ('' when absent)."""
    value = form.get(name)
    return value if isinstance(value, str) else ""


def required(**values: str) -> Problem | None:
    """A problem naming each empty field, or None when all are filled."""
    empty = {name: REQUIRED for name, value in values.items() if not value.strip()}
    return Problem(CORRECT, 422, empty) if empty else None


def bind_claim(
    request: Request, subject_id: uuid.UUID, qr_payload: str, claim_code: str
) -> binding.Bound | Problem:
    """Bind by the QR payload if one was sent, else by the typed code (see the module doc)."""
    if not qr_payload and not claim_code:
        return Problem(TYPE_THE_CODE, 422, {"claim_code": REQUIRED})
    if len(qr_payload) > MAX_QR_PAYLOAD or len(claim_code) > MAX_CLAIM_CODE:  # not counted
        name, rule = ("qr_payload", QR_RULE) if qr_payload else ("claim_code", CODE_RULE)
        return Problem(CORRECT, 422, {name: RULES[rule]})
    claim = binding.Claim(qr_payload, None) if qr_payload else binding.Claim(None, claim_code)
    services = services_of(request)
    settings = services.runtime.settings

    def work(session: Session) -> binding.Bound | DoorstepError:
        try:
            return binding.bind(
                session,
                services.gate,
                Limits.from_settings(settings),
                key=installation_key(settings),
                subject_id=subject_id,
                claim=claim,
                now=services.runtime.clock.now(),
                policy=Policy(services.pack, services.terms),
                channel="web",
            )
        except (ClaimRejectedError, ClaimLockedError) as exc:  # counted: commit, then answer
            return exc

    outcome = attempt(request, work)
    answer = outcome.value
    if isinstance(answer, binding.Bound):
        return answer
    error = answer if isinstance(answer, DoorstepError) else outcome.error
    failed = problem_of(error) if error is not None else Problem(SOMETHING, 500)
    if qr_payload and failed.status == 403:  # the camera consent is off
        failed = replace(failed, message=CAMERA_NEEDED)
    if failed.attempts_left == 0:  # that wrong code was the last one: locked from now
        minutes = max(1, -(-settings.device_claim_lockout_seconds // 60))
        failed = replace(failed, message=MESSAGES["claim-locked"], retry_minutes=minutes)
    return failed
