"""Mosquitto's dynamic-security plugin: device accounts that match the inventory.

Each device gets one client (user name = its endpoint id, password = its transport
secret from the factory file) and one role of its own, ``doorstep-device:<id>``,
holding the six grants of :func:`~.acl.device_grants` (the plugin expands no ``%u``,
so a role per device is the way to confine each one to its own topics).  Clients
holding such a role are *managed*: Doorstep creates, repairs and deletes those and
never touches another account (the controller's, an administrator's).

:func:`plan` computes the commands that take the broker from :class:`BrokerState`
to the inventory: create what is missing, add or remove ACL entries that differ,
delete managed accounts whose unit the inventory no longer holds.  Run twice, the
second plan is empty.  Passwords can only be set from the factory file (the
inventory keeps a scrypt hash, which Mosquitto cannot use): a unit without a factory
record keeps the account it has and gets none if it has none.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from doorstep.devices.broker.acl import device_grants
from doorstep.usp.config import UspConfig

ROLE_PREFIX = "doorstep-device:"
TEXT_NAME = "doorstep device"
_ACL_TYPES = {"publish": "publishClientSend", "subscribe": "subscribePattern"}

Command = dict[str, Any]


def role_of(endpoint_id: str) -> str:
    """The name of the device's own role."""
    return ROLE_PREFIX + endpoint_id


def role_acls(config: UspConfig, endpoint_id: str) -> set[tuple[str, str]]:
    """``(acltype, topic)`` entries of the device's role.

    Each subscribe grant also allows receiving on it (``publishClientReceive``), so a
    device gets its messages whatever the broker's ``defaultACLAccess`` says.
    """
    grants = device_grants(config, endpoint_id)
    entries = {(_ACL_TYPES[g.action], g.topic) for g in grants}
    return entries | {("publishClientReceive", g.topic) for g in grants if g.action == "subscribe"}


@dataclass
class BrokerState:
    """What the broker holds: clients with their role names, roles with their ACLs."""

    clients: dict[str, set[str]] = field(default_factory=dict)
    roles: dict[str, set[tuple[str, str]]] = field(default_factory=dict)

    @classmethod
    def from_responses(cls, clients: Mapping[str, Any], roles: Mapping[str, Any]) -> BrokerState:
        """From the ``data`` of verbose ``listClients`` and ``listRoles`` responses."""
        state = cls()
        for client in clients.get("clients", []):
            names = {str(r.get("rolename")) for r in client.get("roles", [])}
            state.clients[str(client.get("username"))] = names
        for role in roles.get("roles", []):
            acls = {(str(a.get("acltype")), str(a.get("topic"))) for a in role.get("acls", [])}
            state.roles[str(role.get("rolename"))] = acls
        return state

    def managed(self) -> set[str]:
        """User names of the device accounts Doorstep manages."""
        return {
            name
            for name, roles in self.clients.items()
            if any(role == role_of(name) for role in roles)
        }


@dataclass
class Plan:
    """The commands to send and what they do, in counts."""

    commands: list[Command] = field(default_factory=list)
    created: int = 0
    repaired: int = 0
    removed: int = 0
    not_in_inventory: int = 0


def plan(
    config: UspConfig,
    secrets: Mapping[str, str],
    in_inventory: Callable[[str], bool],
    current: BrokerState | None,
) -> Plan:
    """The commands that make ``current`` (None: an empty broker) match the inventory.

    ``secrets`` maps endpoint ids of factory records to their transport secrets;
    ``in_inventory`` says whether the inventory holds a unit.
    """
    state = current or BrokerState()
    result = Plan()
    keep: set[str] = set()
    for endpoint_id, secret in sorted(secrets.items()):
        if not in_inventory(endpoint_id):
            result.not_in_inventory += 1
            continue
        keep.add(endpoint_id)
        if endpoint_id not in state.clients:
            result.commands += _create(config, endpoint_id, secret, state)
            result.created += 1
    for endpoint_id in sorted(state.managed() - keep):
        if in_inventory(endpoint_id):
            fixes = _repair(config, endpoint_id, state)
            if fixes:
                result.commands += fixes
                result.repaired += 1
        else:
            result.commands += [
                {"command": "deleteClient", "username": endpoint_id},
                {"command": "deleteRole", "rolename": role_of(endpoint_id)},
            ]
            result.removed += 1
    for endpoint_id in sorted(keep & set(state.clients)):
        fixes = _repair(config, endpoint_id, state)
        if fixes:
            result.commands += fixes
            result.repaired += 1
    return result


def _create(config: UspConfig, endpoint_id: str, secret: str, state: BrokerState) -> list[Command]:
    role = role_of(endpoint_id)
    commands: list[Command] = []
    if role not in state.roles:
        commands.append({"command": "createRole", "rolename": role, "textname": TEXT_NAME})
    commands += _acl_changes(config, endpoint_id, state.roles.get(role, set()))
    commands.append(
        {
            "command": "createClient",
            "username": endpoint_id,
            "password": secret,
            "textname": TEXT_NAME,
        }
    )
    commands.append({"command": "addClientRole", "username": endpoint_id, "rolename": role})
    return commands


def _repair(config: UspConfig, endpoint_id: str, state: BrokerState) -> list[Command]:
    role = role_of(endpoint_id)
    commands: list[Command] = []
    if role not in state.roles:
        commands.append({"command": "createRole", "rolename": role, "textname": TEXT_NAME})
    commands += _acl_changes(config, endpoint_id, state.roles.get(role, set()))
    if role not in state.clients.get(endpoint_id, set()):
        commands.append({"command": "addClientRole", "username": endpoint_id, "rolename": role})
    return commands


def _acl_changes(
    config: UspConfig, endpoint_id: str, present: Iterable[tuple[str, str]]
) -> list[Command]:
    role, wanted, have = role_of(endpoint_id), role_acls(config, endpoint_id), set(present)
    commands: list[Command] = [
        {"command": "removeRoleACL", "rolename": role, "acltype": kind, "topic": topic}
        for kind, topic in sorted(have - wanted)
    ]
    commands += [
        {
            "command": "addRoleACL",
            "rolename": role,
            "acltype": kind,
            "topic": topic,
            "priority": 0,
            "allow": True,
        }
        for kind, topic in sorted(wanted - have)
    ]
    return commands
