"""The composition root: the one place that assembles the areas into a process.

It imports every area's models (:mod:`doorstep.schema`) and jobs (:data:`TASK_MODULES`),
and builds the long-lived :class:`~doorstep.services.Services` of one process from its
Runtime (the key service, the purpose gate, delivery adapters, the devices' hook for
deregistration).  Nothing here is global but the builder it installs for
:func:`doorstep.services.services_for`; the ASGI app keeps its services in
``app.state.services``.  Entry points (the ASGI app, the commands, the worker, the
demo, the tests) import this module; areas never do.
"""

from __future__ import annotations

import importlib
from datetime import timedelta
from email.utils import formataddr

from doorstep.core.runtime import Runtime
from doorstep.devices.binding import bound_device_ids
from doorstep.keys.keyring import load_keyring
from doorstep.keys.services import KeyService
from doorstep.notify.adapters import Adapters, from_settings, install_adapters_provider
from doorstep.privacy.datamap.pack import PolicyPack, default_pack
from doorstep.privacy.purposes import PurposeGate
from doorstep.schema import metadata
from doorstep.services import Services, install_builder, services_for

__all__ = ["TASK_MODULES", "Services", "build_services", "load_tasks", "services_for"]

#: Every module that declares jobs; the worker imports them all so it knows every task.
#: A new area adds its ``tasks`` module here.
TASK_MODULES = (
    "doorstep.accounts.tasks",
    "doorstep.audit.tasks",
    "doorstep.devices.tasks",
    "doorstep.jobs.housekeeping",
    "doorstep.jobs.stalled",
    "doorstep.notify.tasks",
    "doorstep.privacy.requests.tasks",
    "doorstep.privacy.retention.tasks",
)


def load_tasks() -> None:
    """Import every module of :data:`TASK_MODULES` (their jobs register themselves)."""
    for name in TASK_MODULES:
        importlib.import_module(name)


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
    pack = default_pack()
    adapters = from_settings(settings, pack_sender(pack))
    return Services(
        runtime=runtime,
        keys=keys,
        gate=PurposeGate.from_datamap(metadata, pack),
        mailer=adapters.mailer,
        sms=adapters.sms,
        push=adapters.push,
        bound_devices=bound_device_ids,
    )


def _shared_adapters(runtime: Runtime) -> Adapters:
    services = services_for(runtime)
    return Adapters(mailer=services.mailer, sms=services.sms, push=services.push)


load_tasks()
install_builder(build_services)
install_adapters_provider(_shared_adapters)
