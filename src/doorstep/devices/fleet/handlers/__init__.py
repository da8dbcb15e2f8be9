"""The handlers of the operation kinds, one module each, registered by kind.

The Protocol a handler implements, the :class:`~.base.Run` it gets and the outcomes it
answers (:class:`~.base.Wait`, :class:`~.base.Proceed`, :class:`~.base.Done`) are
documented in :mod:`.base`.  Each handler module registers its handler at
import (``register_handler(OperationKind.X, handler)``); :func:`load` imports every
module of :data:`MODULES`, which the executor calls before it claims anything.  A new
kind's module (``diagnostic``, ``wipe_settings``) adds its dotted name to
:data:`MODULES`.
"""

from __future__ import annotations

import importlib

from doorstep.devices.fleet.handlers.base import (
    Done,
    Handler,
    OperationView,
    Outcome,
    Proceed,
    Run,
    Wait,
    failed,
    handler_for,
    register_handler,
    succeeded,
)

__all__ = [
    "MODULES",
    "Done",
    "Handler",
    "OperationView",
    "Outcome",
    "Proceed",
    "Run",
    "Wait",
    "failed",
    "handler_for",
    "load",
    "register_handler",
    "succeeded",
]

#: The modules that register a handler (imported by :func:`load`).
MODULES: tuple[str, ...] = (
    "doorstep.devices.fleet.handlers.reboot",
    "doorstep.devices.fleet.handlers.parameters",
    "doorstep.devices.fleet.handlers.firmware",
    "doorstep.devices.fleet.wipe_handler",
    "doorstep.devices.fleet.diagnostics_handler",
)


def load() -> None:
    """Import every handler module (each registers its handler; importing twice is a no-op)."""
    for name in MODULES:
        importlib.import_module(name)
