"""The composition root: the one place that assembles the areas into a process.

It imports every area's models (:mod:`doorstep.schema`) and jobs (:data:`TASK_MODULES`),
and builds the long-lived :class:`~doorstep.services.Services` of one process from its
Runtime (the policy pack in force and its consent terms, the key service, the purpose
gate, delivery adapters, the devices' hook for deregistration, the connected systems'
hook for withdrawn consents, the controls register's
published reports for the desk's answers to inquiries, the transfer gate
with its notices to the subscriber's address).  The pack is chosen
once, here: :func:`policy_of` loads the folder the ``policy_pack`` setting names, once
per process, and everything else is handed it (``Services.pack``, and through the
provider installed for :func:`doorstep.privacy.datamap.chosen.chosen_pack`, the code
below the services).  Nothing here is global but the builder and providers it
installs; the ASGI app keeps its services in ``app.state.services``.  Entry points
(the ASGI app, the commands, the worker, the demo, the tests) import this module;
areas never do.
"""

from __future__ import annotations

import importlib
import uuid
from datetime import timedelta
from email.utils import formataddr
from functools import cache
from pathlib import Path

from sqlalchemy.orm import Session

from doorstep.accounts.transfer_notices import notice_address
from doorstep.core.runtime import Runtime
from doorstep.core.settings import Settings
from doorstep.devices.binding import bound_device_ids
from doorstep.devices.fleet.wipes import removal_outcome
from doorstep.keys.keyring import load_keyring
from doorstep.keys.services import KeyService
from doorstep.notify.adapters import Adapters, from_settings, install_adapters_provider
from doorstep.privacy.connectors.withdrawals.fanout import hook_for as withdrawal_hook
from doorstep.privacy.consent.terms import ConsentTerms, load_terms
from doorstep.privacy.controls.reports import published_report
from doorstep.privacy.datamap.chosen import install_pack_provider, load_chosen_pack
from doorstep.privacy.datamap.pack import PolicyPack
from doorstep.privacy.datamap.system_urls import with_urls
from doorstep.privacy.purposes import PurposeGate
from doorstep.privacy.sharing.gate import SharingGate
from doorstep.privacy.sharing.outbox import outbox_release
from doorstep.privacy.transfers.gate import TransferGate, keyed_deidentifier
from doorstep.privacy.transfers.notices import email_notifier
from doorstep.schema import metadata
from doorstep.services import Services, install_builder, services_for
from doorstep.staff.permissions import StaffAction
from doorstep.staff.services import require_action

__all__ = [
    "TASK_MODULES",
    "Services",
    "build_services",
    "load_tasks",
    "pack_sender",
    "policy_of",
    "services_for",
]

#: Every module that declares jobs; the worker imports them all so it knows every task.
#: A new area adds its ``tasks`` module here.
TASK_MODULES = (
    "doorstep.accounts.tasks",
    "doorstep.audit.tasks",
    "doorstep.devices.tasks",
    "doorstep.devices.fleet.sweep",
    "doorstep.devices.fleet.wipe_origin",
    "doorstep.jobs.housekeeping",
    "doorstep.jobs.stalled",
    "doorstep.notify.tasks",
    "doorstep.privacy.changes.tasks",
    "doorstep.privacy.connectors.completions.tasks",
    "doorstep.privacy.connectors.withdrawals.tasks",
    "doorstep.privacy.controls.tasks",
    "doorstep.privacy.incidents.tasks",
    "doorstep.privacy.requests.tasks",
    "doorstep.privacy.requests.systems.tasks",
    "doorstep.privacy.retention.tasks",
)


def load_tasks() -> None:
    """Import every module of :data:`TASK_MODULES` (their jobs register themselves)."""
    for name in TASK_MODULES:
        importlib.import_module(name)


@cache
def _policy_at(
    path: Path, urls: tuple[tuple[str, str], ...] = ()
) -> tuple[PolicyPack, ConsentTerms]:
    pack = with_urls(load_chosen_pack(path), dict(urls))
    return pack, load_terms(pack)


def policy_of(settings: Settings) -> tuple[PolicyPack, ConsentTerms]:
    """The policy pack ``settings.policy_pack`` names and its consent terms, loaded once.

    Once per process and folder: the start-up checks, every runtime's services and
    the commands below the services share the same objects.  A bad folder or a
    broken pack is a :class:`~doorstep.core.errors.ConfigurationError` (not cached).
    """
    return _policy_at(settings.policy_pack.resolve(), tuple(sorted(settings.system_urls.items())))


def pack_sender(pack: PolicyPack) -> str | None:
    """The policy pack's controller as a From address, or None when it names none."""
    controller = pack.controller
    return None if controller is None else formataddr((controller.name, controller.email))


def build_services(runtime: Runtime) -> Services:
    """Build every shared service for ``runtime`` (reads the keyring; no network)."""
    settings = runtime.settings
    keys = KeyService(
        load_keyring(settings, clock=runtime.clock),
        runtime.clock,
        cache_ttl=timedelta(seconds=settings.key_cache_ttl_seconds),
    )
    pack, terms = policy_of(settings)
    adapters = from_settings(settings, pack_sender(pack))
    gate = PurposeGate.from_datamap(metadata, pack, terms)
    transfers = _transfer_gate(runtime, pack, gate)
    return Services(
        runtime=runtime,
        keys=keys,
        gate=gate,
        mailer=adapters.mailer,
        sms=adapters.sms,
        push=adapters.push,
        pack=pack,
        terms=terms,
        sharing=SharingGate.from_pack(pack, metadata, transfers=transfers),
        transfers=transfers,
        bound_devices=bound_device_ids,
        router_removals=removal_outcome,
        check_pack=_check_pack,
        published_report=published_report,
        consent_withdrawn=withdrawal_hook(runtime, pack),
        staff_action=_staff_action,
    )


def _staff_action(session: Session, staff_id: uuid.UUID, action: str) -> str:
    """The staff area's answer for an area below it: the actor, or the refusal (audited)."""
    return require_action(session, staff_id, StaffAction(action)).actor


def _transfer_gate(runtime: Runtime, pack: PolicyPack, gate: PurposeGate) -> TransferGate:
    """The transfer gate: keyed pseudonyms, and notices to the address the account holds."""
    secret = runtime.settings.secret_key.get_secret_value()
    return TransferGate.from_pack(
        pack,
        deidentifier=keyed_deidentifier(secret),
        notifier=email_notifier(pack, runtime.clock, notice_address(gate)),
    )


def _check_pack(path: Path) -> list[str]:
    """Every problem of the pack at ``path`` against the whole schema (a proposed version)."""
    from doorstep.packcheck.check import check_pack

    return [str(problem) for problem in check_pack(path, metadata)]


def _shared_adapters(runtime: Runtime) -> Adapters:
    services = services_for(runtime)
    return Adapters(
        mailer=services.mailer,
        sms=services.sms,
        push=services.push,
        # Every delivery passes the sharing gate and, to a processor abroad, the transfer
        # gate; sign-up asks for the consent it needs before any code is sent (0035).
        release=outbox_release(services.sharing),
    )


load_tasks()
install_builder(build_services)
install_adapters_provider(_shared_adapters)
install_pack_provider(lambda settings: policy_of(settings)[0])
