"""``wipe_settings``: remove the subscriber's settings from the router itself (decision 0042).

Arguments: ``{"wipe_id": …, "mode": "parameters" | "factory_reset", "ssid": …}`` (the
neutral network name, derived from a keyed hash of the unit; nothing personal).  Every
request names the operation's purpose, ``device.settings_removal``, whose
``usp_paths`` are exactly the PPP interfaces, SSIDs, access points, host table,
``FactoryReset()`` and ``UpTime``.

**parameters** (the default), in this order, so that what can cut the router off
comes last:

1. read what the model allows and what it has: one GetSupportedDM, one GetInstances
   (:func:`~.wipe_plan.plan_of`); nothing is changed yet;
2. ``wifi``: one Set of every SSID to the neutral name and every access point's
   passphrase (and WPA3 ``SAEPassphrase``) to a random one nobody is ever shown, so
   the subscriber's wireless devices leave it; then the network names are read back
   (the passphrases are *secured*: the router's answer to the all-or-nothing Set that
   carried them confirms them);
3. ``hosts``: Delete every ``Device.Hosts.Host.{i}.`` where the model allows Delete;
   otherwise the part is ``not_supported``; confirmed by the Delete's answer naming
   every entry asked for.  A second GetInstances counts the entries there afterwards
   (``hosts_after``: a router still in its owner's home learns its wired terminals
   again at once);
4. ``pppoe``: one Set of empty ``Username`` and ``Password`` on every PPP interface,
   read back (``Username`` empty).  A router whose WAN runs over PPPoE may drop its
   connection at once; its answer to the Set then confirms the part.

A refused Set or Delete makes its part ``refused`` (the router's code; never its text,
which may echo a value) and the others go on; the operation ends ``succeeded`` when
every part is ``done`` or ``not_supported``, else ``failed``/``device_error``.  Each
step is committed (``run.sending``) with the parts so far before its message goes out.
Clearing is idempotent, so a turn whose answer was lost is settled by :meth:`check`,
which reads and clears again what is left.

**factory_reset**: ``Device.FactoryReset()`` with the operation's id as CommandKey
(a model without it is cleared by parameters), ended by the ``Boot!`` naming the key,
or by a check that finds the uptime shorter than the time since the command (a
strict agent forgets Doorstep's subscriptions in a reset, so its Boot! may reach
nobody).  Every part is then ``done``, confirmed by the reboot.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from doorstep.core.settings.wipe import WipeMode
from doorstep.devices.fleet.handlers._answers import boot_of, command_failure, rebooted_since
from doorstep.devices.fleet.handlers.base import (
    Outcome,
    Run,
    Wait,
    failed,
    register_handler,
    succeeded,
)
from doorstep.devices.fleet.operations import OperationKind, Reason
from doorstep.devices.fleet.wipe_models import PARTS, PartOutcome
from doorstep.devices.fleet.wipe_plan import (
    FACTORY_RESET,
    HOST,
    SUPPORTED_PATHS,
    TABLES,
    Plan,
    confirmed,
    plan_of,
    ppp_updates,
    random_passphrase,
    read_paths,
    wifi_updates,
)
from doorstep.usp import (
    DeleteResp,
    DeleteSuccess,
    GetInstancesResp,
    Notification,
    UspErrorResponse,
    messages,
)
from doorstep.usp.controller import DeviceCommunicationError

RESET_STEP = "factory_reset"
_FINE = frozenset({PartOutcome.DONE.value, PartOutcome.NOT_SUPPORTED.value})
_MAX_SSID = 32


class _Progress:
    """The parts of one turn and the first code a router refused with."""

    def __init__(self, previous: Mapping[str, Any], mode: str) -> None:
        found = previous.get("parts")
        known: Mapping[str, Any] = found if isinstance(found, dict) else {}
        self.parts: dict[str, str] = {part: str(known.get(part, "pending")) for part in PARTS}
        self.mode = mode
        self.code: int | None = None
        self.extra: dict[str, Any] = {}

    def set(self, part: str, outcome: PartOutcome, code: int | None = None) -> None:
        self.parts[part] = outcome.value
        if code is not None and self.code is None:
            self.code = code

    def result(self) -> dict[str, Any]:
        return {"parts": dict(self.parts), "mode": self.mode, **self.extra}

    def outcome(self) -> Outcome:
        if all(value in _FINE for value in self.parts.values()):
            return succeeded(**self.result())
        refused = PartOutcome.REFUSED.value in self.parts.values()
        fault = "the router refused a part" if refused else "a part is not confirmed"
        return failed(Reason.DEVICE_ERROR, usp_code=self.code, fault=fault, **self.result())


def _ssid(args: Mapping[str, Any]) -> str | None:
    value = args.get("ssid")
    if isinstance(value, str) and 0 < len(value.encode()) <= _MAX_SSID and value.isprintable():
        return value
    return None


async def _plan(run: Run) -> Plan:
    controller, endpoint = run.controller, run.endpoint_id
    supported = await controller.get_supported_dm(
        endpoint, SUPPORTED_PATHS, first_level_only=True, timeout=run.timeout
    )
    return plan_of(supported, await _instances(run, TABLES))


async def _instances(run: Run, tables: tuple[str, ...]) -> GetInstancesResp:
    return await run.controller.get_instances(
        run.endpoint_id,
        tables,
        first_level_only=True,
        timeout=run.timeout,
        purpose=run.op.purpose,
    )


async def _hosts(run: Run, plan: Plan, progress: _Progress) -> None:
    if not plan.hosts_deletable:
        progress.set("hosts", PartOutcome.NOT_SUPPORTED)
        return
    if not plan.hosts:
        progress.set("hosts", PartOutcome.DONE)
        return
    await run.sending("hosts", **progress.result())
    msg = messages.delete(run.controller.next_msg_id(), plan.hosts, allow_partial=True)
    try:
        answer = await run.controller.request(
            run.endpoint_id, msg, DeleteResp, timeout=run.timeout, purpose=run.op.purpose
        )
    except UspErrorResponse as exc:
        progress.set("hosts", PartOutcome.REFUSED, exc.error.err_code)
        return
    results = answer.deleted_obj_results
    failures = [r.oper_status for r in results if not isinstance(r.oper_status, DeleteSuccess)]
    if failures:
        progress.set("hosts", PartOutcome.REFUSED, getattr(failures[0], "err_code", None))
        return
    deleted = {path for r in results if isinstance(r.oper_status, DeleteSuccess)
               for path in r.oper_status.affected_paths}  # fmt: skip
    progress.extra["hosts_deleted"] = len(deleted & set(plan.hosts))
    progress.extra["hosts_after"] = len((await _instances(run, (HOST,))).instances)
    missed = set(plan.hosts) - deleted
    progress.set("hosts", PartOutcome.NOT_CONFIRMED if missed else PartOutcome.DONE)


async def _wifi(run: Run, plan: Plan, progress: _Progress, ssid: str) -> bool:
    """Set the neutral Wi-Fi; whether the router accepted it (read back later)."""
    if not plan.has_wifi:
        progress.set("wifi", PartOutcome.NOT_SUPPORTED)
        return False
    await run.sending("wifi", **progress.result())
    try:
        await run.set(wifi_updates(plan, ssid, random_passphrase()))
    except UspErrorResponse as exc:
        progress.set("wifi", PartOutcome.REFUSED, exc.error.err_code)
        return False
    return True


async def _pppoe(run: Run, plan: Plan, progress: _Progress) -> None:
    if not plan.has_pppoe:
        progress.set("pppoe", PartOutcome.NOT_SUPPORTED)
        return
    await run.sending("pppoe", **progress.result())
    try:
        await run.set(ppp_updates(plan))
    except UspErrorResponse as exc:
        progress.set("pppoe", PartOutcome.REFUSED, exc.error.err_code)
        return
    try:
        values = (await run.get([i + "Username" for i in plan.ppp])).values
    except DeviceCommunicationError:  # its PPPoE session ended with the credentials
        progress.extra["pppoe_confirmed_by"] = "set_answer"
        progress.set("pppoe", PartOutcome.DONE)
        return
    ok = confirmed(values, plan, "")["pppoe"]
    progress.set("pppoe", PartOutcome.DONE if ok else PartOutcome.NOT_CONFIRMED)


async def _clear(run: Run) -> Outcome:
    """One pass over the router (see the module docstring); idempotent."""
    args = run.op.args
    ssid = _ssid(args)
    mode = str(args.get("mode", WipeMode.PARAMETERS.value))
    if ssid is None or mode not in {m.value for m in WipeMode}:
        return failed(Reason.NOT_APPLICABLE, fault="the removal's arguments are not valid")
    plan = await _plan(run)
    if mode == WipeMode.FACTORY_RESET.value and plan.factory_reset and not run.sent:
        return await _reset(run)
    progress = _Progress(run.op.result, WipeMode.PARAMETERS.value)
    if await _wifi(run, plan, progress, ssid):
        values = (await run.get(read_paths(plan))).values
        ok = confirmed(values, plan, ssid)["wifi"]
        progress.set("wifi", PartOutcome.DONE if ok else PartOutcome.NOT_CONFIRMED)
    await _hosts(run, plan, progress)
    await _pppoe(run, plan, progress)
    return progress.outcome()


async def _reset(run: Run) -> Outcome:
    pending = dict.fromkeys(PARTS, PartOutcome.PENDING.value)
    await run.sending(RESET_STEP, parts=pending, mode=WipeMode.FACTORY_RESET.value)
    refused = command_failure(await run.operate(FACTORY_RESET))
    if refused is not None:
        parts = dict.fromkeys(PARTS, PartOutcome.REFUSED.value)
        return failed(
            Reason.DEVICE_ERROR,
            usp_code=refused.err_code,
            fault="the router refused FactoryReset()",
            parts=parts,
        )
    return Wait(RESET_STEP)


def _reset_done() -> Outcome:
    parts = dict.fromkeys(PARTS, PartOutcome.DONE.value)
    return succeeded(parts=parts, mode=WipeMode.FACTORY_RESET.value, confirmed_by="reboot")


class WipeSettingsHandler:
    """Clear the router of its owner's settings (see the module docstring)."""

    async def start(self, run: Run) -> Outcome:
        """Read what the model allows, then clear it (or reset the router)."""
        return await _clear(run)

    async def resume(self, run: Run, event: Notification) -> Outcome | None:
        """The Boot! naming our key ends a factory reset."""
        if run.op.step == RESET_STEP and boot_of(event, run.command_key):
            return _reset_done()
        return None

    async def check(self, run: Run) -> Outcome | None:
        """A reset: rebooted since?  Parameters: read and clear again what is left."""
        if run.op.step == RESET_STEP:
            return _reset_done() if await rebooted_since(run, run.op.step_at) else None
        return await _clear(run)


register_handler(OperationKind.WIPE_SETTINGS, WipeSettingsHandler())
