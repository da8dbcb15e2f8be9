"""``diagnostic``: run one TR-181 diagnostic command and hand its answer to the run.

Arguments: ``{"run_id": "<uuid>"}`` (a :mod:`diagnostic run <.diagnostics>`: its kind
and the caller's host are read from the run, never carried by the operation), or, from
a bulk action, ``{"test": "ping" | "traceroute" | "download" | "upload", "host": H}``
with ``H`` the operator's test server (:mod:`.bulk_args`).

1. **Start.**  Send the kind's command (:data:`.diagnostics_results.COMMANDS`) with its
   input arguments and the operation's id as CommandKey, under ``device.diagnostics``.
   A refusal (the device's CommandFailure, e.g. 7004 for a host it will not use) fails
   with the device's code; an answer in the OperateResp itself ends it at once.
2. **The answer.**  The Notify OperationComplete naming our CommandKey and command:
   a CommandFailure fails it (7022: a reboot interrupted the command); output arguments
   are mapped to the result's fields (:func:`.diagnostics_results.result_of`) and handed
   to the run in a transaction of its own (:func:`.diagnostics_origin.finish_run`:
   stored, or relayed to the waiting caller only), then the operation succeeds.  A bulk
   operation has no run: it keeps only the device's ``status`` word in its result.
3. **Checks** (``fleet_check_seconds``, and when the device connects): the device's
   ``Device.LocalAgent.Request.`` table, where TR-369 keeps every asynchronous command
   under way (an empty table may answer 7026, as the simulator does).  A row with our
   CommandKey: still running.  None, :data:`GRACE_SECONDS` after the command was sent:
   the device finished, or never heard the command (it was reconnecting), and its
   answer is lost — the operation fails ``device_timeout`` with that fault; the command
   is never sent again.  Another error: wait for the deadline.

The operation's own row never holds the host or the figures (decision 0038).
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from doorstep.core.errors import InvalidInputError
from doorstep.devices.fleet.diagnostics_models import DiagnosticKind, DiagnosticRun, RunState
from doorstep.devices.fleet.diagnostics_origin import finish_run
from doorstep.devices.fleet.diagnostics_results import (
    COMMANDS,
    HOST_KINDS,
    check_host,
    input_args,
    result_of,
)
from doorstep.devices.fleet.handlers._answers import command_failure, completion_of
from doorstep.devices.fleet.handlers.base import (
    Outcome,
    Run,
    Wait,
    failed,
    register_handler,
    succeeded,
)
from doorstep.devices.fleet.operations import OperationKind, Reason
from doorstep.usp import CommandFailure, Notification, OutputArgs
from doorstep.usp.codes import ErrorCode

STEP = "diagnostic"
REQUESTS = "Device.LocalAgent.Request."
GRACE_SECONDS = 10
"""A check finds no Request row this long after the command: its answer was lost."""
LOST = "the device ended the diagnostic but its answer did not arrive"


@dataclass(frozen=True, slots=True)
class Target:
    """What to run: the kind, the host (or None), the run (None for a bulk operation)."""

    kind: DiagnosticKind
    host: str | None
    run_id: uuid.UUID | None


def _bulk_target(args: Mapping[str, Any]) -> Target | None:
    try:
        kind = DiagnosticKind(str(args.get("test")))
        host = str(args.get("host") or "") or None
        if kind in HOST_KINDS:
            host = check_host(kind, host)
    except (ValueError, InvalidInputError):
        return None
    return Target(kind, host, None)


async def _target(run: Run) -> Target | None:
    raw = run.op.args.get("run_id")
    if raw is None:
        return _bulk_target(run.op.args)
    try:
        run_id = uuid.UUID(str(raw))
    except ValueError:
        return None

    def load(session: Session) -> Target | None:
        row = session.get(DiagnosticRun, run_id)
        if row is None or row.finished_at is not None:
            return None
        host = (row.inputs or {}).get("host")
        return Target(row.kind, str(host) if host else None, row.id)

    return await run.read(load)


def _command_name(kind: DiagnosticKind) -> str:
    return COMMANDS[kind].rpartition(".")[2]


class DiagnosticHandler:
    """Send the diagnostic, wait for its OperationComplete, hand the result to the run."""

    async def start(self, run: Run) -> Outcome:
        """Send the command of the run's kind."""
        target = await _target(run)
        if target is None:
            return failed(Reason.NOT_APPLICABLE, fault="the diagnostic run ended or is gone")
        await run.sending(STEP, kind=target.kind.value)
        args = input_args(target.kind, target.host, run.runtime.settings)
        answer = await run.operate(COMMANDS[target.kind], args)
        refused = command_failure(answer)
        if refused is not None:
            return failed(Reason.DEVICE_ERROR, usp_code=refused.err_code, fault=refused.err_msg)
        started = answer.operation_results[0].result if answer.operation_results else None
        if isinstance(started, OutputArgs):  # a device that answered at once
            return await self._answered(run, target, started.output_args)
        return Wait(STEP)

    async def resume(self, run: Run, event: Notification) -> Outcome | None:
        """Our OperationComplete ends it."""
        kind = DiagnosticKind(str(run.op.result.get("kind", "ping")))
        done = completion_of(event, run.command_key, _command_name(kind))
        if done is None:
            return None
        if isinstance(done.result, CommandFailure):
            return failed(
                Reason.DEVICE_ERROR, usp_code=done.result.err_code, fault=done.result.err_msg
            )
        target = await _target(run)
        if target is None:
            return failed(Reason.NOT_APPLICABLE, fault="the diagnostic run ended or is gone")
        return await self._answered(run, target, done.result.output_args)

    async def check(self, run: Run) -> Outcome | None:
        """Still in the device's Request table: under way; gone past the grace: lost."""
        answer = await run.get([REQUESTS])
        if set(answer.failures.values()) - {ErrorCode.INVALID_PATH}:
            return None  # the device does not show its requests: wait for the deadline
        keys = {
            value
            for path, value in answer.values.items()
            if path.startswith(REQUESTS) and path.endswith(".CommandKey")
        }
        if run.command_key in keys:
            return None
        sent = run.op.step_at
        if sent is None or (run.now() - sent).total_seconds() < GRACE_SECONDS:
            return None
        return failed(Reason.DEVICE_TIMEOUT, fault=LOST)

    async def _answered(self, run: Run, target: Target, output: Mapping[str, str]) -> Outcome:
        result = result_of(target.kind, output)
        if target.run_id is None:
            return succeeded(status=result["status"])
        run_id, runtime = target.run_id, run.runtime

        def keep() -> None:
            with runtime.sessions.begin() as session:
                finish_run(
                    session, run_id, RunState.SUCCEEDED, now=runtime.clock.now(), result=result
                )

        await asyncio.to_thread(keep)
        return succeeded()


register_handler(OperationKind.DIAGNOSTIC, DiagnosticHandler())
