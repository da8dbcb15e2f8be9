"""What the fleet's commands share: the filter options, a transaction, ids, actors, tables.

The fleet commands (``doorstep devices list|tag|untag``, ``doorstep groups …``,
``doorstep bulk …``) take the same filter options (:data:`Model` … :data:`Tags`,
turned into a :class:`~.filters.DeviceFilter` by :func:`device_filter`), act in one
transaction (:func:`in_transaction`) and exit 2 with nothing changed on bad input,
1 when the thing named is unknown or in the wrong state.  Output names ids, models,
versions, tags and counts: never a serial number, MAC, IP address or endpoint id.

Importing this module costs Typer only; services are imported when a command runs.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Annotated, Any, TypeVar

import typer

from doorstep.core.commands import cli_runtime, fail, load_cli_settings

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from doorstep.core.runtime import Runtime
    from doorstep.devices.fleet.filters import DeviceFilter

T = TypeVar("T")
_ACTOR = re.compile(r"staff:[0-9a-f-]{36}|system:cli")

Model = Annotated[str | None, typer.Option(help="Only this model (exact).")]
Firmware = Annotated[str | None, typer.Option(help="Only this firmware version (exact).")]
FirmwareMin = Annotated[
    str | None, typer.Option(help="Firmware at least this version (1.9 < 1.10).")
]
FirmwareBelow = Annotated[str | None, typer.Option(help="Firmware below this version.")]
ProductType = Annotated[str | None, typer.Option(help="router or gateway.")]
Online = Annotated[
    bool | None, typer.Option("--online/--offline", help="Only devices online (offline) now.")
]
Tags = Annotated[
    list[str] | None, typer.Option("--tag", help="Only devices with this tag (repeatable).")
]
By = Annotated[str, typer.Option(help="Who acts, e.g. staff:<uuid> (audited).")]


def in_transaction(work: Callable[[Session, Runtime], T], *, name: str = "doorstep-fleet") -> T:
    """``work(session, runtime)`` in one transaction; exit 2 on bad input, 1 on other refusals."""
    from doorstep.core.errors import DoorstepError, InvalidInputError

    with cli_runtime(load_cli_settings(), name) as runtime:
        try:
            with runtime.sessions.begin() as session:
                return work(session, runtime)
        except InvalidInputError as exc:
            fail(exc.detail, 2)
        except DoorstepError as exc:
            fail(exc.detail, 1)


def parse_id(value: str, what: str) -> uuid.UUID:
    """``value`` as a UUID, or exit 2 naming ``what``."""
    try:
        return uuid.UUID(value.strip())
    except ValueError:
        fail(f"the {what} must be a UUID", 2)


def actor_of(value: str) -> str:
    """``--by``: ``staff:<uuid>`` or ``system:cli``; exit 2 otherwise."""
    if not _ACTOR.fullmatch(value):
        fail("--by must be staff:<uuid> or system:cli", 2)
    return value


def raw_filter(
    *,
    model: str | None,
    firmware: str | None,
    firmware_min: str | None,
    firmware_below: str | None,
    product_type: str | None,
    online: bool | None,
    tags: Sequence[str] | None,
) -> dict[str, Any]:
    """The JSON form of the filter options given (options left out are not in it)."""
    found: dict[str, Any] = {
        "model": model,
        "firmware": firmware,
        "firmware_min": firmware_min,
        "firmware_below": firmware_below,
        "product_type": product_type,
        "online": online,
        "tags": list(tags) if tags else None,
    }
    return {key: value for key, value in found.items() if value is not None}


def device_filter(raw: dict[str, Any]) -> DeviceFilter:
    """The filter of ``raw``, or exit 2 naming the options at fault."""
    from doorstep.core.errors import InvalidInputError
    from doorstep.devices.fleet.filters import DeviceFilter

    try:
        return DeviceFilter.parse(raw)
    except InvalidInputError as exc:
        rules = ", ".join(
            f"{item['field']} ({item['rule']})" for item in exc.fields.get("errors", ())
        )
        fail(f"{exc.detail}: {rules}", 2)


def table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> list[str]:
    """Lines of a plain table, columns padded to their widest cell."""
    widths = [max(len(cell) for cell in column) for column in zip(header, *rows, strict=True)]
    return [
        "  ".join(cell.ljust(width) for cell, width in zip(line, widths, strict=True)).rstrip()
        for line in (header, *rows)
    ]
