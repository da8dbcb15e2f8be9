"""The ``doorstep`` command's root group: lazily imported area groups, plain help.

:class:`Commands` lists the core commands and every area group of
:data:`AREA_COMMANDS`, importing an area's module only when its group is used,
so ``doorstep --help`` or a usage error never loads SQLAlchemy.  Help is click's
plain style: a value's placeholder is its name in capitals (``--port PORT``), a
flag has none, a choice lists its values.
"""

from __future__ import annotations

import importlib
from typing import Any

import typer
from typer.core import TyperArgument, TyperCommand, TyperGroup, TyperOption

#: Each area's command group: name -> (module exposing ``app: typer.Typer``, one-line help).
#: The help is repeated here so that ``doorstep --help`` needs no area imported;
#: tests/test_cli.py checks it matches each group's own.
AREA_COMMANDS: dict[str, tuple[str, str]] = {
    "datamap": (
        "doorstep.privacy.datamap.cli",
        "The data map: check declarations; generate the record of processing, the Fides "
        "export and the privacy notice's 'what we collect' section.",
    ),
    "audit": (
        "doorstep.audit.cli",
        "Audit trail: verify the hash chain, seal recorded events, take checkpoints.",
    ),
    "keys": (
        "doorstep.keys.cli",
        "Per-subject data keys: keyring status, KEK rotation and retirement.",
    ),
    "consent": (
        "doorstep.privacy.consent.cli",
        "Consent ledger: current state by purpose, signed receipts and their verification.",
    ),
    "staff": (
        "doorstep.staff.cli",
        "Operator staff: least-privilege roles (support, privacy_officer, admin).",
    ),
    "accounts": (
        "doorstep.accounts.cli",
        "Subscriber accounts: show, lock, unlock; manual deregistration requests.",
    ),
    "notify": (
        "doorstep.notify.cli",
        "Notification outbox: list messages, retry failed ones, cancel queued ones.",
    ),
    "controller": (
        "doorstep.devices.controller_cli",
        "Run the USP controller over MQTT until Ctrl-C.",
    ),
    "agent-sim": (
        "doorstep.usp.agent_sim.cli",
        "Run simulated USP routers and gateways (agents).",
    ),
    "devices": (
        "doorstep.devices.cli",
        "Device inventory and fleet: import factory files, list and tag devices, sweep presence.",
    ),
    "groups": (
        "doorstep.devices.fleet.groups_cli",
        "Device groups: saved fleet filters (model, firmware, product, online, tags).",
    ),
    "bulk": (
        "doorstep.devices.fleet.bulk_cli",
        "Bulk actions on a group: reboot, set allowed parameters, diagnose, update firmware.",
    ),
    "firmware": (
        "doorstep.devices.fleet.firmware_cli",
        "Firmware images: add (upload or register), list, show, remove; update one device.",
    ),
    "diagnostics": (
        "doorstep.devices.fleet.diagnostics_cli",
        "Diagnostics on a device: ping, trace route, speed tests (staff: a ticket or consent).",
    ),
    "rollouts": (
        "doorstep.devices.fleet.rollouts_cli",
        "Firmware rollouts: waves with a canary, caps, automatic pause, maintenance windows.",
    ),
    "broker": (
        "doorstep.devices.broker.cli",
        "MQTT broker: per-device accounts and ACLs from the device inventory.",
    ),
    "requests": (
        "doorstep.privacy.requests.cli",
        "Data-subject requests: the queue, decisions, deadlines.",
    ),
    "inbox": (
        "doorstep.privacy.requests.inquiries.inbox_cli",
        "The privacy mailbox: receive forwarded e-mail as privacy inquiries.",
    ),
    "incidents": (
        "doorstep.privacy.incidents.cli",
        "Incidents and breach notices: affected subscribers, notices, regulator reports.",
    ),
    "retention": (
        "doorstep.privacy.retention.cli",
        "Retention: plan, run and report the storage periods of the policy pack.",
    ),
    "completions": (
        "doorstep.privacy.connectors.completions.cli",
        "Completion events: a closed order, ticket, application or shop account schedules "
        "its deletion in its connected system.",
    ),
    "connectors": (
        "doorstep.privacy.connectors.cli",
        "Connected systems: their credentials, stored encrypted, never shown.",
    ),
    "holds": (
        "doorstep.privacy.holds.cli",
        "Legal holds: keep a subject's data past its period on a recorded legal ground.",
    ),
    "transfers": (
        "doorstep.privacy.transfers.cli",
        "Cross-border transfers: mechanisms, home countries, the register, locations, drift.",
    ),
    "sharing": (
        "doorstep.privacy.sharing.cli",
        "Sharing: a subject's consents per recipient, legal demands, the recipient registry.",
    ),
    "pack": (
        "doorstep.packcheck.cli",
        "Policy packs: check one with file and line; see what a change does to stored data.",
    ),
    "controls": (
        "doorstep.privacy.controls.cli",
        "Controls register: continuity, reviews, audits, certificates, impact assessments; "
        "the notice's claims they evidence.",
    ),
    "policy": (
        "doorstep.privacy.changes.cli",
        "Policy versions: publish a new version (classified major or minor), list the "
        "history, show one.",
    ),
    "evidence": (
        "doorstep.privacy.evidence.cli",
        "The evidence report: each clause of the policy, the tests that prove it and the "
        "code that keeps it.",
    ),
}


class _PlainArgument(TyperArgument):
    """An argument whose help shows its name only (``REVISION``, not ``REVISION <str>``)."""

    def display_type_rich(self, ctx: Any) -> str | None:
        return None


def _plain_help(command: TyperCommand | TyperGroup) -> TyperCommand | TyperGroup:
    """Give ``command`` and its subcommands click's plain help (see the module docstring)."""
    command.rich_markup_mode = None
    for param in command.params:
        if (
            isinstance(param, TyperOption)
            and not (param.is_flag or param.count)
            and param.metavar is None
            and param.name
        ):
            kind = param.type_descriptor
            param.metavar = (
                "[" + "|".join(str(getattr(c, "value", c)) for c in kind.choices) + "]"
                if kind.is_choice and kind.choices
                else param.name.upper()
            )
        elif isinstance(param, TyperArgument) and param.metavar is None and param.name:
            param.metavar = param.name.upper()
            param.__class__ = _PlainArgument
    if isinstance(command, TyperGroup):
        for sub in command.commands.values():
            if isinstance(sub, TyperCommand | TyperGroup):
                _plain_help(sub)
    return command


class Commands(TyperGroup):
    """The root group: core commands, plus the area groups imported when first used.

    ``ctx`` and ``formatter`` are Typer's own click types (untyped here: Typer
    vendors click privately).
    """

    def list_commands(self, ctx: Any) -> list[str]:
        return [*super().list_commands(ctx), *AREA_COMMANDS]

    def get_command(self, ctx: Any, cmd_name: str) -> Any:
        found = super().get_command(ctx, cmd_name)
        if found is not None or cmd_name not in AREA_COMMANDS:
            return found
        area = importlib.import_module(AREA_COMMANDS[cmd_name][0])
        group = _plain_help(typer.main.get_group(area.app))
        group.name = cmd_name
        self.commands[cmd_name] = group
        return group

    def format_commands(self, ctx: Any, formatter: Any) -> None:
        rows = []
        for name in TyperGroup.list_commands(self, ctx):
            command = self.commands[name]
            if not command.hidden:
                rows.append((name, command.get_short_help_str(limit=formatter.width)))
        rows += [(name, text) for name, (_, text) in AREA_COMMANDS.items()]
        with formatter.section("Commands"):
            formatter.write_dl(rows)

    def main(self, *args: Any, **kwargs: Any) -> Any:
        _plain_help(self)
        return super().main(*args, **kwargs)
