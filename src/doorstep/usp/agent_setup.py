"""What the controller keeps set up on every agent: its subscriptions, Periodic!, last will.

A real agent (OB-USP-Agent and every TR-369 agent) sends ``Boot!``, ``Periodic!``,
ValueChange and OperationComplete only to a controller holding a matching
``Device.LocalAgent.Subscription.{i}``.  :func:`ensure_agent_setup` makes the agent
hold exactly the :class:`SetupPlan` (decision 0027):

1. one Get of ``Device.LocalAgent.Controller.``, ``Device.LocalAgent.Subscription.``
   and ``Device.MQTT.Client.`` (a path the agent lacks is a per-path error, not a
   failure);
2. the controller's own entry is the ``Controller.{i}`` whose ``EndpointID`` is ours;
   its subscriptions are those whose ``Recipient`` is that entry and whose ``ID``
   starts with :data:`ID_PREFIX`.  Subscriptions of other controllers are never
   touched;
3. a wanted subscription that is missing is added (one Add, ``allow_partial``); one
   that differs (type, references, disabled) is deleted and added again; one of ours
   that is no longer wanted, or a second with the same ID, is deleted.  Each Add names
   the purpose of its subscriptions (the per-path purpose gate checks the table and
   every path of the ``ReferenceList``); the reads and settings name the plan's.  The
   ``ID`` is
   the key, so running this twice (or from two processes) never duplicates one: the
   agent refuses a second ``ID`` for the same recipient (7025);
4. ``PeriodicNotifInterval`` of our entry is set when it differs;
5. for an agent on MQTT, the MQTT client named by our entry's MTP gets the last will
   of the plan (``WillEnable``, ``WillTopic``, ``WillValue``) when it differs.  A real
   agent applies it at its next connection.

Nothing here stores anything; the agent is the record of what it holds, which is
why a factory reset (which empties it) is repaired by the next first contact.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field

from doorstep.usp import messages
from doorstep.usp._requests import CreateObject, ParamSetting, UpdateObject
from doorstep.usp._responses import AddResp, DeleteResp, SetResp
from doorstep.usp.controller import Controller
from doorstep.usp.mtp._topics import will_topic

__all__ = [
    "BOOT",
    "ID_PREFIX",
    "PERIODIC",
    "LastWill",
    "SetupPlan",
    "SetupReport",
    "WantedSubscription",
    "ensure_agent_setup",
    "will_topic",
]

ID_PREFIX = "doorstep-"
"""Subscriptions whose ID starts with this belong to Doorstep; others are left alone."""
CONTROLLERS = "Device.LocalAgent.Controller."
SUBSCRIPTIONS = "Device.LocalAgent.Subscription."
MQTT_CLIENTS = "Device.MQTT.Client."
BOOT = "Device.Boot!"
PERIODIC = "Device.LocalAgent.Periodic!"
_ENTRY = re.compile(r"Device\.LocalAgent\.Controller\.([0-9]+)\.EndpointID")
_ROW = re.compile(r"(Device\.LocalAgent\.Subscription\.[0-9]+\.)([A-Za-z]+)")
_TRUE = frozenset({"true", "1"})


@dataclass(frozen=True, slots=True)
class WantedSubscription:
    """A subscription Doorstep wants on every agent."""

    id: str
    notif_type: str
    references: tuple[str, ...]
    purpose: str
    """What Doorstep subscribes for (the per-path purpose gate checks the references)."""
    notif_retry: bool = True

    @property
    def reference_list(self) -> str:
        """The ``ReferenceList`` value: the references, comma-separated."""
        return ",".join(self.references)


@dataclass(frozen=True, slots=True)
class LastWill:
    """The last will Doorstep provisions on an agent's MQTT client."""

    topic: str
    value: str = "offline"


@dataclass(frozen=True, slots=True)
class SetupPlan:
    """What every agent must hold for this controller."""

    purpose: str
    """The purpose the reads, deletions and settings name."""
    subscriptions: tuple[WantedSubscription, ...] = ()
    periodic_interval: int | None = None
    """Seconds between ``Periodic!`` events; None leaves the agent's value alone."""
    last_will: LastWill | None = None
    """For agents on MQTT; None provisions none."""


@dataclass(frozen=True, slots=True)
class SetupReport:
    """What :func:`ensure_agent_setup` changed (subscription IDs and parameter names)."""

    added: tuple[str, ...] = ()
    removed: tuple[str, ...] = ()
    refused: Mapping[str, int] = field(default_factory=dict)
    """Subscription ID -> the agent's error code, for those it would not create."""
    settings: tuple[str, ...] = ()
    """``PeriodicNotifInterval``, ``Will``: what was set."""

    @property
    def changed(self) -> bool:
        """Whether anything was added, removed or set."""
        return bool(self.added or self.removed or self.settings)


@dataclass(frozen=True, slots=True)
class _Held:
    path: str
    id: str
    notif_type: str
    reference_list: str
    enabled: bool


async def ensure_agent_setup(
    controller: Controller,
    endpoint_id: str,
    plan: SetupPlan,
    *,
    mqtt: bool,
    timeout: float | None = None,
) -> SetupReport:
    """Make the agent hold ``plan`` (see the module docstring); what changed.

    Raises what :meth:`Controller.request` raises (offline, timeout, Error Msg).
    """
    answer = await controller.get(
        endpoint_id,
        [CONTROLLERS, SUBSCRIPTIONS, MQTT_CLIENTS],
        timeout=timeout,
        purpose=plan.purpose,
    )
    values = answer.values
    entry = _own_entry(values, controller.endpoint_id)
    held = _held(values, entry)
    wanted = {sub.id: sub for sub in plan.subscriptions}
    doomed: list[_Held] = []
    keep: set[str] = set()
    for row in held:
        sub = wanted.get(row.id)
        if sub is None or row.id in keep or not _same(row, sub):
            doomed.append(row)
        else:
            keep.add(row.id)
    removed = await _delete(controller, endpoint_id, doomed, plan.purpose, timeout)
    added: list[str] = []
    refused: dict[str, int] = {}
    for purpose in dict.fromkeys(sub.purpose for sub in plan.subscriptions):
        missing = [s for s in plan.subscriptions if s.id not in keep and s.purpose == purpose]
        done, failed = await _add(controller, endpoint_id, missing, purpose, timeout)
        added += done
        refused.update(failed)
    settings = await _settings(
        controller, endpoint_id, values=values, entry=entry, plan=plan, mqtt=mqtt, timeout=timeout
    )
    return SetupReport(tuple(added), removed, refused, settings)


def _own_entry(values: Mapping[str, str], controller_id: str) -> str | None:
    """``Device.LocalAgent.Controller.{i}`` of our endpoint id, or None."""
    for path, value in values.items():
        match = _ENTRY.fullmatch(path)
        if match and value == controller_id:
            return f"{CONTROLLERS}{match.group(1)}"
    return None


def _held(values: Mapping[str, str], entry: str | None) -> list[_Held]:
    """Doorstep's subscriptions on the agent (ID prefix, and our entry as Recipient)."""
    rows: dict[str, dict[str, str]] = {}
    for path, value in values.items():
        match = _ROW.fullmatch(path)
        if match:
            rows.setdefault(match.group(1), {})[match.group(2)] = value
    held = []
    for path, row in sorted(rows.items(), key=lambda item: _instance(item[0])):
        recipient = row.get("Recipient", "").rstrip(".")
        ours = entry is None or recipient in {"", entry}
        if ours and row.get("ID", "").startswith(ID_PREFIX):
            held.append(
                _Held(
                    path,
                    row.get("ID", ""),
                    row.get("NotifType", ""),
                    row.get("ReferenceList", ""),
                    row.get("Enable", "") in _TRUE,
                )
            )
    return held


def _instance(path: str) -> int:
    return int(path.rstrip(".").rsplit(".", 1)[1])


def _same(row: _Held, sub: WantedSubscription) -> bool:
    references = {ref.strip() for ref in row.reference_list.split(",") if ref.strip()}
    return row.enabled and row.notif_type == sub.notif_type and references == set(sub.references)


async def _delete(
    controller: Controller,
    endpoint_id: str,
    doomed: list[_Held],
    purpose: str,
    timeout: float | None,
) -> tuple[str, ...]:
    if not doomed:
        return ()
    msg = messages.delete(
        controller.next_msg_id(), [row.path for row in doomed], allow_partial=True
    )
    await controller.request(endpoint_id, msg, DeleteResp, timeout=timeout, purpose=purpose)
    return tuple(row.id for row in doomed)


async def _add(
    controller: Controller,
    endpoint_id: str,
    missing: list[WantedSubscription],
    purpose: str,
    timeout: float | None,
) -> tuple[list[str], dict[str, int]]:
    if not missing:
        return [], {}
    objects = [
        CreateObject(
            SUBSCRIPTIONS,
            (
                ParamSetting("ID", sub.id),
                ParamSetting("NotifType", sub.notif_type),
                ParamSetting("ReferenceList", sub.reference_list),
                ParamSetting("Enable", "true"),
                ParamSetting("Persistent", "true", required=False),
                ParamSetting("NotifRetry", "true" if sub.notif_retry else "false", required=False),
            ),
        )
        for sub in missing
    ]
    msg = messages.add(controller.next_msg_id(), objects, allow_partial=True)
    answer = await controller.request(endpoint_id, msg, AddResp, timeout=timeout, purpose=purpose)
    added: list[str] = []
    refused: dict[str, int] = {}
    for sub, result in zip(missing, answer.created_obj_results, strict=False):
        if result.ok:
            added.append(sub.id)
        else:
            refused[sub.id] = getattr(result.oper_status, "err_code", 0)
    return added, refused


async def _settings(
    controller: Controller,
    endpoint_id: str,
    *,
    values: Mapping[str, str],
    entry: str | None,
    plan: SetupPlan,
    mqtt: bool,
    timeout: float | None,
) -> tuple[str, ...]:
    if entry is None:
        return ()
    updates: list[UpdateObject] = []
    done: list[str] = []
    interval = plan.periodic_interval
    if interval is not None and values.get(f"{entry}.PeriodicNotifInterval") != str(interval):
        setting = ParamSetting("PeriodicNotifInterval", str(interval))
        updates.append(UpdateObject(f"{entry}.", (setting,)))
        done.append("PeriodicNotifInterval")
    client = _mqtt_client(values, entry) if mqtt else None
    will = plan.last_will
    if client is not None and will is not None and not _has_will(values, client, will):
        settings = (
            ParamSetting("WillEnable", "true"),
            ParamSetting("WillTopic", will.topic),
            ParamSetting("WillValue", will.value),
            ParamSetting("WillQoS", "1", required=False),
            ParamSetting("WillRetain", "false", required=False),
        )
        updates.append(UpdateObject(f"{client}.", settings))
        done.append("Will")
    if not updates:
        return ()
    msg = messages.set(controller.next_msg_id(), updates, allow_partial=True)
    answer = await controller.request(
        endpoint_id, msg, SetResp, timeout=timeout, purpose=plan.purpose
    )
    failed = set(answer.failures)
    return tuple(name for name, update in zip(done, updates, strict=True)
                 if update.obj_path not in failed)  # fmt: skip


def _mqtt_client(values: Mapping[str, str], entry: str) -> str | None:
    """The ``Device.MQTT.Client.{i}`` our entry's MQTT MTP uses, if the agent has one."""
    prefix = f"{entry}.MTP."
    for path, value in sorted(values.items()):
        if path.startswith(prefix) and path.endswith(".MQTT.Reference") and value:
            client = value.rstrip(".")
            if client.startswith(MQTT_CLIENTS) and f"{client}.WillEnable" in values:
                return client
    return None


def _has_will(values: Mapping[str, str], client: str, will: LastWill) -> bool:
    return (
        values.get(f"{client}.WillEnable", "") in _TRUE
        and values.get(f"{client}.WillTopic") == will.topic
        and values.get(f"{client}.WillValue") == will.value
    )
