"""The device page's "Test the connection" section: the subscriber's own diagnostics (0041).

Private helpers of :mod:`doorstep.web.center.devices`:

* :func:`diagnostics_section` — the subscriber's newest runs on the device, with their stored
  results, read through :func:`doorstep.devices.fleet.diagnostics_views.owner_runs`
  (gated and audited there; None when they cannot be read now: the page says so), and
  how long the pack keeps a result;
* :func:`run_from_form` — runs the test the form asks for, as the owner, and waits for
  the device up to ``diagnostics_wait_seconds``: the page is rendered from the answer,
  not redirected to, because a result the pack does not store (a trace route) exists
  only in this answer.  Bad input (a host that is not a name or an address) is a
  :class:`~.device_view.Problem` with the field marked, and nothing is stored.
* :class:`Section` — what the section shows, and the words of a result (:func:`summary`:
  a message to translate in the template and its values).

Nothing of a result goes into a URL or a log line.
"""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from fastapi import Request
from sqlalchemy.orm import Session
from starlette.datastructures import FormData

from doorstep.audit.entries import subject_actor
from doorstep.core.errors import DoorstepError
from doorstep.devices.exceptions import DeviceNotFoundError
from doorstep.devices.fleet.diagnostics import Context, Ground, start_run
from doorstep.devices.fleet.diagnostics_models import RULE
from doorstep.devices.fleet.diagnostics_views import RunView, owner_runs
from doorstep.devices.fleet.diagnostics_wait import start_and_wait
from doorstep.web.center.device_view import Problem, problem_of
from doorstep.web.i18n import _
from doorstep.web.work import attempt, services_of

#: The tests the form offers, in the subscriber's words.
KINDS: dict[str, str] = {
    "ping": _("Ping a host (round-trip time)"),
    "traceroute": _("Trace the route to a host"),
    "download": _("Download speed test"),
    "upload": _("Upload speed test"),
}
#: Short names of the kinds, for the list of runs.
NAMES: dict[str, str] = {
    "ping": _("Ping"),
    "traceroute": _("Trace route"),
    "download": _("Download speed"),
    "upload": _("Upload speed"),
}
STATES: dict[str, str] = {
    "queued": _("Waiting for the device"),
    "running": _("Running"),
    "succeeded": _("Done"),
    "failed": _("Failed"),
    "cancelled": _("Cancelled"),
}
#: What the device's own ``Status`` words mean (TR-181); others are shown as they are.
STATUSES: dict[str, str] = {
    "Error_CannotResolveHostName": _("The host name could not be found."),
    "Error_NoRouteToHost": _("There is no route to this host."),
    "Error_MaxHopCountExceeded": _("The host did not answer within 30 hops."),
    "Error_InitConnectionFailed": _("The test server could not be reached."),
    "Error_Other": _("The device could not run the test."),
}
HOST_RULE = _("Enter a host name like example.org or an address like 192.0.2.1.")


def diagnostics_section(
    request: Request, subject_id: uuid.UUID, device_id: uuid.UUID, latest: RunView | None = None
) -> Section:
    """The section of the device page: the newest runs (None when they cannot be read now)."""
    services = services_of(request)
    outcome = attempt(
        request, lambda session: owner_runs(session, services.gate, subject_id, device_id, limit=5)
    )
    rule = services.pack.retention.get(RULE)
    days = rule.period.days if rule is not None and rule.period is not None else None
    return Section(outcome.value if outcome.ok else None, latest, days)


async def run_from_form(
    request: Request, subject_id: uuid.UUID, device_id: uuid.UUID, form: FormData
) -> RunView | Problem:
    """Run the form's test on the subscriber's device and wait for it (see the module doc).

    DeviceNotFoundError (not the subscriber's device) is raised, for the 404 page.
    """
    services = services_of(request)
    kind = str(form.get("kind") or "")
    host = str(form.get("host") or "").strip()
    inputs = {"host": host} if host else {}
    context = Context.of(services)

    def start(session: Session) -> uuid.UUID:
        return start_run(
            session,
            device_id,
            kind,
            inputs,
            ground=Ground.owner(),
            actor=subject_actor(subject_id),
            context=context,
        )

    def read(session: Session, run_id: uuid.UUID) -> RunView:
        return owner_runs(session, services.gate, subject_id, device_id, run_id)[0]

    wait = services.runtime.settings.diagnostics_wait_seconds
    try:
        view = await start_and_wait(services.runtime, start, read, wait=wait)
    except DeviceNotFoundError:
        raise
    except DoorstepError as exc:
        problem = problem_of(exc)
        fields = {
            name: HOST_RULE if name == "host" else text for name, text in problem.fields.items()
        }
        if "kind" in fields:
            fields["kind"] = _("Choose a test.")
        return Problem(problem.message, problem.status, fields, problem.usp_code)
    # the host just typed, shown back with its result (a kind not stored keeps neither)
    return dataclasses.replace(view, host=view.host or host or None)


Line = tuple[str, dict[str, object]]


def summary(kind: str, result: Mapping[str, Any] | None) -> Line | None:
    """A result in the subscriber's words: a message to translate and its values."""
    if not result:
        return None
    status = str(result.get("status", ""))
    if status and status != "Complete":
        if status in STATUSES:
            return STATUSES[status], {}
        return _("The device reported: %(status)s"), {"status": status}
    if kind == "ping":
        return _ping(result)
    if kind == "traceroute":
        return _("%(count)s hops to the host."), {"count": len(result.get("hops") or ())}
    return _("%(mbps)s Mbit/s"), {"mbps": result.get("mbps")}


def _ping(result: Mapping[str, Any]) -> Line:
    if not result.get("received"):
        return _("No answer from the host."), {}
    return _(
        "%(received)s of %(sent)s answers; average %(average)s ms (minimum %(minimum)s, "
        "maximum %(maximum)s)."
    ), {
        "received": result.get("received"),
        "sent": result.get("sent"),
        "average": _ms(result.get("average_ms")),
        "minimum": _ms(result.get("minimum_ms")),
        "maximum": _ms(result.get("maximum_ms")),
    }


def _ms(value: object) -> str:
    return f"{value:.1f}" if isinstance(value, int | float) else "—"


@dataclass(frozen=True, slots=True)
class Section:
    """What the section shows: the newest runs, and the one just run (with its result)."""

    runs: list[RunView] | None
    latest: RunView | None = None
    days: int | None = None
    """How many days a stored result is kept (the pack's rule), None when not known."""

    @property
    def kinds(self) -> list[tuple[str, str]]:
        """The form's choices."""
        return list(KINDS.items())

    def shown(self) -> list[RunView]:
        """The runs to list: the one just run first (its relayed result), then the others."""
        others = [run for run in self.runs or () if self.latest is None or run.id != self.latest.id]
        return ([self.latest] if self.latest is not None else []) + others

    def line(self, run: RunView) -> Line | None:
        """The result of ``run`` in words."""
        return summary(run.kind, run.result)

    def name(self, run: RunView) -> str:
        """The kind of ``run`` in words (to translate)."""
        return NAMES.get(run.kind, run.kind)

    def state(self, run: RunView) -> str:
        """The state of ``run`` in words (to translate)."""
        return STATES.get(run.state, run.state)
