"""The arguments of each kind of bulk action, checked before anything is stored or queued.

* ``reboot``: none.
* ``set_parameters``: ``{"parameters": {path: value}}``, every path on the pack's
  ``bulk_parameters:`` allow-list (:func:`check_parameters`; a PPPoE, Wi-Fi or
  Hosts path is refused naming the path).
* ``firmware_update``: ``{"image_id": "<uuid>"}`` of a registered image; the handler
  then refuses, device by device, an image not meant for the device's model or version.
* ``diagnostic``: ``{"test": "ping" | "traceroute" | "download" | "upload", "host": H}``
  with ``H`` the operator's own test server (a host name or address, at most 253
  characters of ``A-Za-z0-9.-:``), never a subscriber's input.  Refused (``unavailable``)
  while no handler of the ``diagnostic`` kind is registered
  (:mod:`doorstep.devices.fleet.handlers`), rather than queueing operations that
  would all fail.

:func:`check_args` answers the stored form or raises
:class:`~doorstep.core.errors.InvalidInputError` (or :class:`ParameterRefusedError`).
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Mapping
from typing import Any

from sqlalchemy.orm import Session

from doorstep.core.errors import InvalidInputError
from doorstep.devices.fleet import handlers
from doorstep.devices.fleet.image_models import FirmwareImage
from doorstep.devices.fleet.operations import OperationKind
from doorstep.privacy.datamap.pack_bulk_parameters import BulkParameters

#: The diagnostics a bulk action may run, by the name the command line uses.
DIAGNOSTIC_TESTS = ("ping", "traceroute", "download", "upload")
MAX_PARAMETERS = 20
MAX_VALUE = 256
_HOST = re.compile(r"[A-Za-z0-9.:-]{1,253}")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


class ParameterRefusedError(InvalidInputError):
    """A bulk ``set_parameters`` named a path outside the pack's ``bulk_parameters:`` list."""

    code = "bulk-parameter-refused"
    title = "Parameter not allowed in bulk"

    def __init__(self, path: str) -> None:
        super().__init__(
            f"{path} is not on the policy pack's bulk_parameters allow-list: a bulk action "
            "sets only non-personal device settings",
            path=path,
            errors=[{"field": path, "rule": "bulk_parameters"}],
        )
        self.path = path


def check_parameters(parameters: object, allowed: BulkParameters) -> dict[str, str]:
    """The ``{path: value}`` of a bulk ``set_parameters``, or the refusal of the first bad one.

    A path outside ``allowed`` is :class:`ParameterRefusedError` (its name, never its
    value); an empty set, too many, or a value that is not short printable text is
    :class:`InvalidInputError`.
    """
    if not isinstance(parameters, Mapping) or not parameters:
        raise InvalidInputError.of("parameters", "required", "name at least one parameter")
    if len(parameters) > MAX_PARAMETERS:
        raise InvalidInputError.of(
            "parameters", "at_most_20", f"at most {MAX_PARAMETERS} parameters at once"
        )
    checked: dict[str, str] = {}
    for path, value in parameters.items():
        if not isinstance(path, str) or not allowed.allows(path):
            raise ParameterRefusedError(str(path))
        text = value
        if isinstance(value, bool):
            text = "true" if value else "false"
        elif isinstance(value, int):
            text = str(value)
        if not isinstance(text, str) or len(text) > MAX_VALUE or _CONTROL.search(text):
            raise InvalidInputError.of(
                path, "value", f"a value is text of at most {MAX_VALUE} printable characters"
            )
        checked[path] = text
    return checked


def check_args(
    session: Session, kind: OperationKind, raw: Mapping[str, Any], allowed: BulkParameters
) -> dict[str, Any]:
    """The checked arguments of a bulk action of ``kind`` (see the module docstring)."""
    if kind is OperationKind.REBOOT:
        return {}
    if kind is OperationKind.SET_PARAMETERS:
        return {"parameters": check_parameters(raw.get("parameters"), allowed)}
    if kind is OperationKind.FIRMWARE_UPDATE:
        try:
            image_id = uuid.UUID(str(raw.get("image_id")))
        except ValueError:
            raise InvalidInputError.of("image_id", "uuid", "the image id is a UUID") from None
        if session.get(FirmwareImage, image_id) is None:
            raise InvalidInputError.of("image_id", "known_image", "no firmware image has this id")
        return {"image_id": str(image_id)}
    if kind is OperationKind.DIAGNOSTIC:
        test, host = raw.get("test"), raw.get("host")
        if test not in DIAGNOSTIC_TESTS:
            raise InvalidInputError.of(
                "test", "diagnostic_test", "the test is one of " + ", ".join(DIAGNOSTIC_TESTS)
            )
        if not isinstance(host, str) or not _HOST.fullmatch(host):
            raise InvalidInputError.of(
                "host", "host", "the host is the operator's test server: a name or an address"
            )
        handlers.load()
        if handlers.handler_for(OperationKind.DIAGNOSTIC) is None:
            raise InvalidInputError.of(
                "kind", "unavailable", "no diagnostic handler is installed in this version"
            )
        return {"test": test, "host": host}
    raise InvalidInputError.of("kind", "bulk_kind", "this operation cannot run in bulk")
