"""HTTP API of the devices area under ``/api/v1/devices`` (thin: parse, call, shape).

Every route needs a signed-in subscriber (``Authorization: Bearer``) and acts only
on devices bound to them; every service names its purpose to the gate and audits
the use by id.  Errors are RFC 9457 problems: 404 for a device that is not yours,
409 for one bound elsewhere, 422 with the USP code for a device that refused, 429
with ``Retry-After`` after too many wrong codes, 503/504 for an unreachable or silent
device.  A wrong claim code is answered here (not raised) so that the request's
transaction commits the failure count the lockout relies on.

The router's lifespan sets up the USP controller of ``serve`` (:mod:`.mount`).  The
diagnostics routes (``/{device_id}/diagnostics``) are :mod:`.fleet.diagnostics_api`'s.
"""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Response
from fastapi.responses import JSONResponse

from doorstep.accounts.auth import CurrentSubscriber
from doorstep.core.errors import NotFoundError
from doorstep.core.problems import problem_response, problem_responses
from doorstep.devices import binding, live, page, pppoe, wifi
from doorstep.devices._limits import Limits
from doorstep.devices.exceptions import ClaimLockedError, ClaimRejectedError
from doorstep.devices.fleet import diagnostics_api, wipes
from doorstep.devices.fleet.wipe_api import WipeOut, wipe_out
from doorstep.devices.inventory import installation_key
from doorstep.devices.mount import device_link, lifespan
from doorstep.devices.remote import DeviceLink
from doorstep.devices.schemas import (
    BindingOut,
    BindRequest,
    CommandAccepted,
    DeviceList,
    DeviceOut,
    FunctionOut,
    NetworkOut,
    PppoeOut,
    PppoeRequest,
    ScanOut,
    StatusOut,
    TerminalOut,
    WifiRequest,
)
from doorstep.privacy.policies.answers import Policy
from doorstep.services import ServicesDep, SessionDep

router = APIRouter(
    prefix="/api/v1/devices",
    tags=["devices"],
    lifespan=lifespan,
    # Not yours or not there; bound elsewhere; claim attempts; the device's own answers.
    responses=problem_responses(403, 404, 409, 429, 502, 503, 504),
)
LinkDep = Annotated[DeviceLink, Depends(device_link)]
# A subscriber's own diagnostics (decision 0041): /{device_id}/diagnostics…
router.include_router(diagnostics_api.router)


@router.get("", summary="My devices")
def list_devices(
    subscriber: CurrentSubscriber, services: ServicesDep, session: SessionDep
) -> DeviceList:
    """The devices bound to my account, with their registration record and state."""
    found = page.list_devices(session, services.gate, subscriber.subject_id)
    return DeviceList(
        devices=[
            DeviceOut(
                device_id=item.device_id,
                product_type=item.product_type.value if item.product_type else None,
                model=item.model,
                firmware_version=item.firmware_version,
                serial_number=item.serial_number,
                mac_address=item.mac_address,
                network_status=item.network_status,
                ip_address=item.ip_address,
                online=item.online,
                last_seen=item.last_seen,
                bound_at=item.bound_at,
                bind_method=item.bind_method.value,
                missing_fields=list(item.missing_fields),
                functions=[
                    FunctionOut(name=f.name, available=f.available, reason=f.reason)
                    for f in item.functions
                ],
            )
            for item in found
        ]
    )


@router.post(
    "/bindings",
    status_code=201,
    summary="Bind a device (QR code or claim code)",
    response_model=BindingOut,
)
def bind(
    body: BindRequest,
    subscriber: CurrentSubscriber,
    services: ServicesDep,
    session: SessionDep,
    response: Response,
) -> BindingOut | JSONResponse:
    """Bind the device whose claim secret I hold; the first account to bind owns it."""
    runtime = services.runtime
    try:
        bound = binding.bind(
            session,
            services.gate,
            Limits.from_settings(runtime.settings),
            key=installation_key(runtime.settings),
            subject_id=subscriber.subject_id,
            claim=binding.Claim(body.qr_payload, body.claim_code),
            now=runtime.clock.now(),
            policy=Policy(services.pack, services.terms),
            channel="app",
        )
    except (ClaimRejectedError, ClaimLockedError) as exc:
        retry = exc.fields.get("retry_after")
        return problem_response(
            status=exc.status,
            code=exc.code,
            title=exc.title,
            detail=exc.detail,
            headers={"Retry-After": str(int(retry))} if retry is not None else None,
            **exc.fields,
        )
    if not bound.created:
        response.status_code = 200
    return BindingOut(device_id=bound.device_id, method=bound.method.value, bound_at=bound.bound_at)


@router.delete(
    "/{device_id}/binding",
    status_code=204,
    summary="Unbind a device",
    responses={
        202: {
            "model": WipeOut,
            "description": "Unbound; the removal of my settings from the device is queued "
            "(wipe_settings=true).",
        }
    },
)
def unbind(
    device_id: uuid.UUID,
    subscriber: CurrentSubscriber,
    services: ServicesDep,
    session: SessionDep,
    wipe_settings: Annotated[
        bool,
        Query(
            description="Also remove my settings from the device itself: PPPoE account and "
            "password, Wi-Fi name and password, its list of connected devices (decision 0042)."
        ),
    ] = False,
) -> Response:
    """End my binding of the device; its PPPoE credentials are deleted with it.

    With ``wipe_settings=true`` my settings are removed from the device too, now or the
    next time it is online; the answer (202) names the removal to follow.
    """
    if wipe_settings:
        runtime = services.runtime
        wipe = wipes.unbind_and_wipe(
            session,
            services.gate,
            subject_id=subscriber.subject_id,
            device_id=device_id,
            settings=runtime.settings,
            clock=runtime.clock,
        )
        return JSONResponse(status_code=202, content=wipe_out(wipe).model_dump(mode="json"))
    binding.unbind(
        session,
        services.gate,
        subject_id=subscriber.subject_id,
        device_id=device_id,
        now=services.runtime.clock.now(),
    )
    return Response(status_code=204)


@router.put("/{device_id}/pppoe", summary="Set PPPoE on the device")
async def set_pppoe(
    *,
    device_id: uuid.UUID,
    body: PppoeRequest,
    subscriber: CurrentSubscriber,
    services: ServicesDep,
    session: SessionDep,
    link: LinkDep,
) -> PppoeOut:
    """Send the PPPoE account and password to the device; stored encrypted once it accepted."""
    set_at = await pppoe.set_pppoe(
        session,
        services.gate,
        services.keys,
        link,
        subject_id=subscriber.subject_id,
        device_id=device_id,
        username=body.username,
        password=body.password,
        interface=body.interface,
        now=services.runtime.clock.now(),
    )
    return PppoeOut(
        username=body.username, password_set=True, interface=body.interface, set_at=set_at
    )


@router.get("/{device_id}/pppoe", summary="Read the PPPoE settings (never the password)")
def read_pppoe(
    device_id: uuid.UUID, subscriber: CurrentSubscriber, services: ServicesDep, session: SessionDep
) -> PppoeOut:
    """The PPPoE account name stored for my device, whether a password is stored, and when."""
    found = pppoe.read_pppoe(
        session, services.gate, services.keys, subject_id=subscriber.subject_id, device_id=device_id
    )
    if found is None:
        raise NotFoundError("no PPPoE credentials are stored for this device")
    return PppoeOut(
        username=found.username,
        password_set=found.password_set,
        interface=found.interface,
        set_at=found.set_at,
    )


@router.put("/{device_id}/wifi", status_code=204, summary="Set the Wi-Fi name and password")
async def set_wifi(
    *,
    device_id: uuid.UUID,
    body: WifiRequest,
    subscriber: CurrentSubscriber,
    services: ServicesDep,
    session: SessionDep,
    link: LinkDep,
) -> Response:
    """Set the network name and password on the device (nothing is stored)."""
    await wifi.set_wifi(
        session,
        services.gate,
        link,
        subject_id=subscriber.subject_id,
        device_id=device_id,
        ssid=body.ssid,
        passphrase=body.passphrase,
        index=body.index,
    )
    return Response(status_code=204)


@router.post("/{device_id}/wifi/scan", summary="Scan nearby Wi-Fi networks")
async def scan_wifi(
    device_id: uuid.UUID,
    subscriber: CurrentSubscriber,
    services: ServicesDep,
    session: SessionDep,
    link: LinkDep,
) -> ScanOut:
    """The networks the device sees now (needs the consent wifi.location_scan; not stored)."""
    found = await wifi.scan_wifi(
        session, services.gate, link, subject_id=subscriber.subject_id, device_id=device_id
    )
    return ScanOut(
        networks=[
            NetworkOut(
                ssid=n.ssid,
                bssid=n.bssid,
                channel=n.channel,
                signal_strength=n.signal_strength,
                band=n.band,
                security=n.security,
            )
            for n in found
        ]
    )


@router.get("/{device_id}/status", summary="Live status: connected devices")
async def status(
    device_id: uuid.UUID,
    subscriber: CurrentSubscriber,
    services: ServicesDep,
    session: SessionDep,
    link: LinkDep,
) -> StatusOut:
    """Host name and MAC of each device connected to my router now (read live, not stored)."""
    found = await live.live_status(
        session, services.gate, link, subject_id=subscriber.subject_id, device_id=device_id
    )
    return StatusOut(
        terminals=[
            TerminalOut(host_name=t.host_name, mac_address=t.mac_address) for t in found.terminals
        ]
    )


@router.post("/{device_id}/reboot", status_code=202, summary="Reboot the device")
async def reboot(
    device_id: uuid.UUID,
    subscriber: CurrentSubscriber,
    services: ServicesDep,
    session: SessionDep,
    link: LinkDep,
) -> CommandAccepted:
    """Ask my device to reboot; it comes back on its own."""
    await live.reboot(
        session, services.gate, link, subject_id=subscriber.subject_id, device_id=device_id
    )
    return CommandAccepted()
