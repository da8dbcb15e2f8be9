"""``set_parameters``: one all-or-nothing Set of parameters of the pack's ``bulk_parameters``.

Arguments: ``{"parameters": {path: value}}``.  Every path must be one of the pack's
``bulk_parameters:`` (:mod:`doorstep.privacy.datamap.pack_bulk_parameters`), which
the pack reader keeps apart from every personal purpose's paths; a path outside it,
or a value that is not a short string, fails the operation ``not_applicable`` before
anything is sent.  The controller's per-path gate checks the Set again at the wire.
The device applies all or nothing: its Error Msg fails the operation with its code.
"""

from __future__ import annotations

from collections.abc import Mapping

from doorstep.devices.fleet.handlers.base import (
    Outcome,
    Run,
    failed,
    register_handler,
    succeeded,
)
from doorstep.devices.fleet.operations import OperationKind, Reason
from doorstep.privacy.datamap.chosen import chosen_pack
from doorstep.privacy.datamap.pack_bulk_parameters import BulkParameters
from doorstep.usp import Notification

STEP = "set"
MAX_VALUE = 256
MAX_PARAMETERS = 32


def refused_parameters(allowed: BulkParameters, parameters: object) -> str | None:
    """Why ``parameters`` may not be set in bulk (by rule, never a value); None if they may."""
    if not isinstance(parameters, Mapping) or not 0 < len(parameters) <= MAX_PARAMETERS:
        return f"parameters: 1 to {MAX_PARAMETERS} paths and values"
    for path, value in parameters.items():
        if not isinstance(path, str) or not allowed.allows(path):
            return "a path is not in the pack's bulk_parameters"
        if not isinstance(value, str) or len(value) > MAX_VALUE:
            return f"values are strings of at most {MAX_VALUE} characters"
    return None


class SetParametersHandler:
    """Set the allow-listed parameters, all or nothing."""

    async def start(self, run: Run) -> Outcome:
        """Check the paths against the pack, then one Set."""
        parameters = run.op.args.get("parameters")
        refused = refused_parameters(chosen_pack(run.runtime.settings).bulk_parameters, parameters)
        if refused is not None or not isinstance(parameters, Mapping):
            return failed(Reason.NOT_APPLICABLE, fault=refused)
        await run.sending(STEP)
        await run.set({str(path): str(value) for path, value in parameters.items()})
        return succeeded(parameters_set=len(parameters))

    async def resume(self, run: Run, event: Notification) -> Outcome | None:
        """Nothing to wait for."""
        return None

    async def check(self, run: Run) -> Outcome | None:
        """The answer to the Set was lost (its executor died): read the values back.

        All as asked: succeeded; else failed, rather than send the Set again.
        """
        parameters = run.op.args.get("parameters")
        if not isinstance(parameters, Mapping):
            return failed(Reason.NOT_APPLICABLE)
        values = (await run.get([str(path) for path in parameters])).values
        if all(values.get(str(path)) == value for path, value in parameters.items()):
            return succeeded(parameters_set=len(parameters))
        return failed(Reason.DEVICE_TIMEOUT, fault="the answer to the Set was lost")


register_handler(OperationKind.SET_PARAMETERS, SetParametersHandler())
