"""Data-model discovery: which of Doorstep's functions a model and firmware supports.

On the first contact of a unit whose (model, firmware) has no row yet, the hooks
ask it one GetSupportedDM of :data:`DISCOVERY_PATHS` (first level only, commands
and parameters) and :func:`functions_of` maps the answer to the functions the
app offers: each function needs some objects, parameters or commands
(:data:`REQUIREMENTS`); the first one missing is the reason it is unavailable.
:func:`store_capabilities` keeps the result per model and firmware, never per
device (``device_capabilities``, not personal).  A device whose model is unknown
is not asked, and every function counts as available until it is.

:func:`function_states` is what the app API and the pages show: every function,
whether it is available, and why not.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from doorstep.devices._capability_models import DeviceCapability
from doorstep.usp import GetSupportedDMResp, SupportedObject

#: The functions of the app, in the order pages show them.
FUNCTIONS = ("pppoe", "wifi", "wifi_scan", "status", "reboot")


@dataclass(frozen=True, slots=True)
class Needs:
    """What one function needs of a supported object: parameters and commands."""

    obj_path: str
    params: tuple[str, ...] = ()
    commands: tuple[str, ...] = ()


#: Per function, what its requests touch (TR-181 paths as GetSupportedDM writes them).
REQUIREMENTS: Mapping[str, tuple[Needs, ...]] = {
    "pppoe": (Needs("Device.PPP.Interface.{i}.", params=("Username", "Password")),),
    "wifi": (
        Needs("Device.WiFi.SSID.{i}.", params=("SSID",)),
        Needs("Device.WiFi.AccessPoint.{i}.Security.", params=("KeyPassphrase",)),
    ),
    "wifi_scan": (Needs("Device.WiFi.", commands=("NeighboringWiFiDiagnostic()",)),),
    "status": (Needs("Device.Hosts.Host.{i}.", params=("HostName", "PhysAddress")),),
    "reboot": (Needs("Device.", commands=("Reboot()",)),),
}
#: The objects one GetSupportedDM asks about.
DISCOVERY_PATHS = tuple(dict.fromkeys(n.obj_path for needs in REQUIREMENTS.values() for n in needs))


@dataclass(frozen=True, slots=True)
class FunctionState:
    """One function of a device as the app shows it; ``reason`` says why it is missing."""

    name: str
    available: bool
    reason: str | None = None
    missing: str | None = None
    """The TR-181 object, parameter or command the model lacks."""


def _missing(need: Needs, objects: Mapping[str, SupportedObject]) -> str | None:
    found = objects.get(need.obj_path)
    if found is None:
        return need.obj_path
    params = {p.param_name for p in found.supported_params}
    commands = {c.command_name for c in found.supported_commands}
    for param in need.params:
        if param not in params:
            return need.obj_path + param
    for command in need.commands:
        if command not in commands:
            return need.obj_path + command
    return None


def functions_of(answer: GetSupportedDMResp) -> tuple[list[str], dict[str, str]]:
    """``(supported functions, {unsupported function: the first path it lacks})``."""
    objects = {
        obj.supported_obj_path: obj
        for result in answer.req_obj_results
        if not result.err_code
        for obj in result.supported_objs
    }
    supported: list[str] = []
    unsupported: dict[str, str] = {}
    for function in FUNCTIONS:
        lacking = next(
            (m for need in REQUIREMENTS[function] if (m := _missing(need, objects))), None
        )
        if lacking is None:
            supported.append(function)
        else:
            unsupported[function] = lacking
    return supported, unsupported


def capability_key(model: str | None, firmware: str | None) -> tuple[str, str] | None:
    """The row key of a device's model and firmware; None when the model is unknown."""
    return None if not model else (model, firmware or "")


def known(session: Session, key: tuple[str, str]) -> bool:
    """Whether this model and firmware was discovered already."""
    return session.get(DeviceCapability, key) is not None


def store_capabilities(
    session: Session,
    key: tuple[str, str],
    answer: GetSupportedDMResp,
    *,
    now: datetime,
) -> None:
    """Keep what ``answer`` says of the model and firmware ``key`` (the first answer wins)."""
    supported, unsupported = functions_of(answer)
    statement = insert(DeviceCapability).values(
        model=key[0],
        firmware_version=key[1],
        supported=supported,
        unsupported=unsupported,
        discovered_at=now,
    )
    session.execute(statement.on_conflict_do_nothing(index_elements=["model", "firmware_version"]))


def function_states(unsupported: Mapping[str, str] | None) -> list[FunctionState]:
    """Every function with availability and reason (``None``: not discovered, all offered)."""
    missing = unsupported or {}
    return [
        FunctionState(name, False, _reason(missing[name]), missing[name])
        if name in missing
        else FunctionState(name, True)
        for name in FUNCTIONS
    ]


def _reason(path: str) -> str:
    return f"the device's data model lacks {path}"
