"""The privacy center's "My devices": bind a router or gateway, configure it, see it live.

Routes (every one needs a signed-in subscriber; a device that is not bound to
them is a 404 page, like one that does not exist):

* ``GET /devices`` — my devices (model, product type, serial number, online or
  offline with last contact, bound since) and the bind form: the typed claim
  code, always there (CPE-V.4.b); scanning the QR code with the camera only
  with the consent ``device.qr_camera``, otherwise a pointer to the consents page.
* ``POST /devices/bind`` — bind by claim code or QR payload → the device page
  (``?done=bound``).  A wrong code is answered on the page and its count is
  committed; after too many, the page says how long to wait
  (:mod:`.device_forms`).
* ``GET /devices/{id}`` — the device page: registration facts, PPPoE (whether
  credentials are stored and since when, never their values), Wi-Fi, connected
  devices, restart, removal.  ``?live=1`` asks the device for its connected
  terminals and shows them in the page (the path without JavaScript).
* ``GET /devices/{id}/status`` — the connected terminals as a fragment for htmx
  (``HX-Request``), refreshed every 10 s; the whole device page otherwise.
* ``POST /devices/{id}/pppoe``, ``/wifi``, ``/reboot`` — sent to the device at
  once; success redirects (303) to the device page with ``?done=…``, a refusal
  re-renders it with the message, field by field, and the error's status.
* ``POST /devices/{id}/diagnostics`` — test the device's connection (decision 0041): the
  page shows the device's answer (not a redirect: :mod:`.device_diagnostics`).
* ``GET /devices/{id}/unbind`` (a confirmation, saying the PPPoE credentials are
  deleted, with the choice, ticked by default, to remove the subscriber's settings from
  the device itself, decision 0042) and ``POST /devices/{id}/unbind`` →
  ``/devices?done=unbound`` (``unbound_wiped``); "My devices" lists those removals.

Every use of personal data goes through the devices services (purpose gate,
audit); each change runs in its own transaction (:mod:`doorstep.web.work`).
Nothing personal goes into a URL, a log line or a message: URLs carry device ids
and ``done`` codes only, and claim codes and passwords typed are never put back
into a form (only a Wi-Fi network name is, to correct it).
"""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData

from doorstep.accounts.auth import Subscriber
from doorstep.core.errors import DoorstepError
from doorstep.devices import binding, live, pppoe, wifi
from doorstep.devices.exceptions import DeviceNotFoundError
from doorstep.devices.fleet import wipes
from doorstep.devices.fleet.diagnostics_views import RunView
from doorstep.devices.mount import device_link
from doorstep.web.center import device_wipes as wipe_labels
from doorstep.web.center.device_diagnostics import diagnostics_section, run_from_form
from doorstep.web.center.device_forms import bind_claim, raw, required
from doorstep.web.center.device_view import (
    SOMETHING,
    DeviceView,
    LiveView,
    Problem,
    device_uuid,
    load_device,
    load_list,
    load_live,
    problem_of,
)
from doorstep.web.center.device_wipes import load_wipes
from doorstep.web.csrf import checked_form
from doorstep.web.i18n import _
from doorstep.web.session import PageSubscriber
from doorstep.web.templating import DONE, render
from doorstep.web.work import Outcome, attempt, attempt_async, services_of

router = APIRouter(include_in_schema=False)
Form = Annotated[FormData, Depends(checked_form)]
DONE.update(
    {
        "bound": _("The device is now bound to your account."),
        "already_bound": _("This device was already bound to your account."),
        "unbound": _(
            "The device was removed from your account, and its PPPoE credentials were deleted."
        ),
        "unbound_wiped": _(
            "The device was removed from your account, and its PPPoE credentials were deleted. "
            "Your settings are removed from the device itself now, or the next time it "
            "connects; the list below shows how it goes."
        ),
        "pppoe_set": _("The device accepted the Internet access settings."),
        "wifi_set": _("The device accepted the new Wi-Fi name and password."),
        "rebooting": _("The device is restarting. It will be back in a minute or two."),
    }
)
#: How often the connected devices refresh with JavaScript on (htmx ``every``).
LIVE_REFRESH = "10s"


# -- my devices and binding ---------------------------------------------------------------


def _list_page(
    request: Request,
    subscriber: Subscriber,
    *,
    problem: Problem | None = None,
    form: str | None = None,
) -> HTMLResponse:
    found = load_list(request, subscriber.subject_id)
    return render(
        request,
        "center/devices.html",
        status_code=problem.status if problem is not None else 200,
        devices=found.devices,
        camera=found.camera,
        wipes=load_wipes(request, subscriber.subject_id),
        wipe_labels=wipe_labels,
        problem=problem,
        form=form,
    )


@router.get("/devices", response_class=HTMLResponse)
def devices_page(request: Request, subscriber: PageSubscriber) -> HTMLResponse:
    """My devices and the bind form."""
    return _list_page(request, subscriber)


@router.post("/devices/bind", response_class=HTMLResponse)
def bind_device(request: Request, subscriber: PageSubscriber, form: Form) -> Response:
    """Bind the device whose label code (typed or scanned) the subscriber holds."""
    qr_payload, claim_code = raw(form, "qr_payload").strip(), raw(form, "claim_code").strip()
    answer = bind_claim(request, subscriber.subject_id, qr_payload, claim_code)
    if isinstance(answer, binding.Bound):
        done = "bound" if answer.created else "already_bound"
        return RedirectResponse(f"/devices/{answer.device_id}?done={done}", status_code=303)
    return _list_page(request, subscriber, problem=answer, form="qr" if qr_payload else "code")


# -- the device page --------------------------------------------------------------------


def _device_page(
    request: Request,
    subscriber: Subscriber,
    device_id: uuid.UUID,
    *,
    view: DeviceView | None = None,
    live_view: LiveView | None = None,
    problem: Problem | None = None,
    section: str | None = None,
    values: dict[str, str] | None = None,
    latest: RunView | None = None,
) -> HTMLResponse:
    """The device page (``problem`` shown in ``section``, with its status code)."""
    view = view or load_device(request, subscriber.subject_id, device_id)
    return render(
        request,
        "center/devices_device.html",
        status_code=problem.status if problem is not None else 200,
        view=view,
        device=view.device,
        live=live_view,
        refresh=LIVE_REFRESH,
        problem=problem,
        section=section,
        values=values or {},
        diagnostics=diagnostics_section(request, subscriber.subject_id, device_id, latest),
    )


async def _with_live(request: Request, subscriber: Subscriber, device_id: uuid.UUID) -> Response:
    """The device page with its connected devices, asked of it now (if it is online)."""
    view = await run_in_threadpool(load_device, request, subscriber.subject_id, device_id)
    live_view = None
    if view.device.online:
        live_view = await load_live(request, subscriber.subject_id, device_id)
    return await run_in_threadpool(
        lambda: _device_page(request, subscriber, device_id, view=view, live_view=live_view)
    )


@router.get("/devices/{device_id}", response_class=HTMLResponse)
async def device_page(
    request: Request, subscriber: PageSubscriber, device_id: str, live: str | None = None
) -> Response:
    """The device page; ``?live=1`` includes the connected devices read from it now."""
    device = device_uuid(device_id)
    if live == "1":
        return await _with_live(request, subscriber, device)
    return await run_in_threadpool(_device_page, request, subscriber, device)


@router.get("/devices/{device_id}/status", response_class=HTMLResponse)
async def device_status(request: Request, subscriber: PageSubscriber, device_id: str) -> Response:
    """The connected devices: a fragment for htmx, the whole device page for a plain link."""
    device = device_uuid(device_id)
    if request.headers.get("hx-request") != "true":
        return await _with_live(request, subscriber, device)
    live_view = await load_live(request, subscriber.subject_id, device)
    response = render(request, "center/devices_live.html", live=live_view)
    response.headers["vary"] = "HX-Request"
    return response


async def _answer(
    request: Request,
    subscriber: Subscriber,
    device_id: uuid.UUID,
    section: str,
    outcome: Outcome[object] | Problem,
    *,
    done: str,
    values: dict[str, str] | None = None,
) -> Response:
    """Success: back to the device page with ``done``; else the page with the problem.

    A device that is not the subscriber's is the 404 page.
    """
    if isinstance(outcome, Outcome):
        if outcome.ok:
            return RedirectResponse(f"/devices/{device_id}?done={done}", status_code=303)
        error: DoorstepError | None = outcome.error
        if isinstance(error, DeviceNotFoundError):
            raise error
        outcome = problem_of(error) if error is not None else Problem(SOMETHING, 500)
    problem = outcome
    return await run_in_threadpool(
        lambda: _device_page(
            request, subscriber, device_id, problem=problem, section=section, values=values
        )
    )


@router.post("/devices/{device_id}/pppoe", response_class=HTMLResponse)
async def set_pppoe(
    request: Request, subscriber: PageSubscriber, form: Form, device_id: str
) -> Response:
    """Send the PPPoE account to the device; stored sealed once it accepted them."""
    device = device_uuid(device_id)
    username, password = raw(form, "username").strip(), raw(form, "password")
    services, link = services_of(request), device_link(request)
    outcome: Outcome[object] | Problem | None = required(username=username, password=password)
    if outcome is None:
        outcome = await attempt_async(
            request,
            lambda session: pppoe.set_pppoe(
                session,
                services.gate,
                services.keys,
                link,
                subject_id=subscriber.subject_id,
                device_id=device,
                username=username,
                password=password,
                interface=1,
                now=services.runtime.clock.now(),
            ),
        )
    return await _answer(request, subscriber, device, "pppoe", outcome, done="pppoe_set")


@router.post("/devices/{device_id}/wifi", response_class=HTMLResponse)
async def set_wifi(
    request: Request, subscriber: PageSubscriber, form: Form, device_id: str
) -> Response:
    """Set the Wi-Fi network name and password on the device (nothing is stored)."""
    device = device_uuid(device_id)
    ssid, passphrase = raw(form, "ssid"), raw(form, "passphrase")
    services, link = services_of(request), device_link(request)
    outcome: Outcome[object] | Problem | None = required(ssid=ssid, passphrase=passphrase)
    if outcome is None:
        outcome = await attempt_async(
            request,
            lambda session: wifi.set_wifi(
                session,
                services.gate,
                link,
                subject_id=subscriber.subject_id,
                device_id=device,
                ssid=ssid,
                passphrase=passphrase,
            ),
        )
    values = {"ssid": ssid}
    return await _answer(
        request, subscriber, device, "wifi", outcome, done="wifi_set", values=values
    )


@router.post("/devices/{device_id}/reboot", response_class=HTMLResponse)
async def reboot(
    request: Request, subscriber: PageSubscriber, form: Form, device_id: str
) -> Response:
    """Ask the device to restart; it comes back on its own."""
    device = device_uuid(device_id)
    services, link = services_of(request), device_link(request)
    outcome: Outcome[object] = await attempt_async(
        request,
        lambda session: live.reboot(
            session, services.gate, link, subject_id=subscriber.subject_id, device_id=device
        ),
    )
    return await _answer(request, subscriber, device, "reboot", outcome, done="rebooting")


@router.post("/devices/{device_id}/diagnostics", response_class=HTMLResponse)
async def run_diagnostic(
    request: Request, subscriber: PageSubscriber, form: Form, device_id: str
) -> Response:
    """Run a test of the device's connection and show its result (decision 0041)."""
    device = device_uuid(device_id)
    answer = await run_from_form(request, subscriber.subject_id, device, form)
    if isinstance(answer, Problem):
        values = {"host": raw(form, "host").strip(), "kind": raw(form, "kind")}
        return await run_in_threadpool(
            lambda: _device_page(
                request, subscriber, device, problem=answer, section="diagnostics", values=values
            )
        )
    return await run_in_threadpool(lambda: _device_page(request, subscriber, device, latest=answer))


# -- removing a device ------------------------------------------------------------------


@router.get("/devices/{device_id}/unbind", response_class=HTMLResponse)
def unbind_page(request: Request, subscriber: PageSubscriber, device_id: str) -> HTMLResponse:
    """Ask for confirmation, saying what removing the device means."""
    view = load_device(request, subscriber.subject_id, device_uuid(device_id))
    return render(
        request,
        "center/devices_unbind.html",
        view=view,
        device=view.device,
        problem=None,
        wipe_checked=True,
        wipe_days=services_of(request).runtime.settings.wipe_deadline_days,
    )


@router.post("/devices/{device_id}/unbind", response_class=HTMLResponse)
def unbind(request: Request, subscriber: PageSubscriber, form: Form, device_id: str) -> Response:
    """End the binding (its PPPoE credentials go with it); with ``wipe_settings`` ticked,
    remove the subscriber's settings from the device too (decision 0042)."""
    device = device_uuid(device_id)
    services = services_of(request)
    runtime, wipe = services.runtime, raw(form, "wipe_settings") == "1"
    outcome: Outcome[object] = attempt(
        request,
        lambda session: (
            wipes.unbind_and_wipe(
                session,
                services.gate,
                subject_id=subscriber.subject_id,
                device_id=device,
                settings=runtime.settings,
                clock=runtime.clock,
            )
            if wipe
            else binding.unbind(
                session,
                services.gate,
                subject_id=subscriber.subject_id,
                device_id=device,
                now=runtime.clock.now(),
            )
        ),
    )
    if outcome.ok:
        done = "unbound_wiped" if wipe else "unbound"
        return RedirectResponse(f"/devices?done={done}", status_code=303)
    if isinstance(outcome.error, DeviceNotFoundError):
        raise outcome.error
    view = load_device(request, subscriber.subject_id, device)
    problem = problem_of(outcome.error) if outcome.error else Problem(SOMETHING, 500)
    return render(
        request,
        "center/devices_unbind.html",
        status_code=problem.status,
        view=view,
        device=view.device,
        problem=problem,
        wipe_checked=wipe,
        wipe_days=runtime.settings.wipe_deadline_days,
    )
