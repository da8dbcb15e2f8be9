"""``doorstep broker accounts`` as functions: the inventory's side of the reconcile.

:func:`reconcile` reads the factory files' endpoint ids and secrets, asks the
inventory which units it holds (by their keyed hash, one query per unit in one
transaction), reads the broker's current state and sends :func:`.dynsec.plan`'s
commands; :func:`write_commands` writes the same commands for an empty broker to a
file (0600: it holds the secrets) instead.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterable
from pathlib import Path

from sqlalchemy.orm import Session

from doorstep.core.runtime import Runtime
from doorstep.devices.broker.control import broker_state, exchange
from doorstep.devices.broker.dynsec import Plan, plan
from doorstep.devices.inventory import find_device_id, installation_key, read_factory_file
from doorstep.usp.config import MqttBroker, UspConfig


def factory_secrets(paths: Iterable[Path]) -> dict[str, str]:
    """Endpoint id -> transport secret of every record of the factory files."""
    return {r.endpoint_id: r.secret for path in paths for r in read_factory_file(path)}


def inventory_lookup(session: Session, key: bytes) -> Callable[[str], bool]:
    """Whether the inventory holds a unit, remembered per endpoint id."""
    known: dict[str, bool] = {}

    def holds(endpoint_id: str) -> bool:
        if endpoint_id not in known:
            found = find_device_id(session, key=key, endpoint_id=endpoint_id)
            known[endpoint_id] = found is not None
        return known[endpoint_id]

    return holds


def admin_broker(runtime: Runtime, config: UspConfig) -> MqttBroker:
    """The broker account ``broker accounts`` uses: ``broker_admin_url``, else the controller's."""
    url = runtime.settings.broker_admin_url
    return (config.replace(mqtt_url=url.get_secret_value()) if url else config).broker


async def reconcile(
    runtime: Runtime, config: UspConfig, paths: Iterable[Path], *, dry_run: bool = False
) -> Plan:
    """Make the broker's device accounts match the inventory; the plan that was applied."""
    broker = admin_broker(runtime, config)
    secrets = factory_secrets(paths)
    current = await broker_state(broker)
    with runtime.sessions.begin() as session:
        result = plan(
            config, secrets, inventory_lookup(session, installation_key(runtime.settings)), current
        )
    if result.commands and not dry_run:
        await exchange(broker, result.commands)
    return result


def write_commands(runtime: Runtime, config: UspConfig, paths: Iterable[Path], out: Path) -> Plan:
    """Write the commands that set up an empty broker to ``out`` (0600, atomically)."""
    secrets = factory_secrets(paths)
    with runtime.sessions.begin() as session:
        result = plan(
            config, secrets, inventory_lookup(session, installation_key(runtime.settings)), None
        )
    temporary = out.with_name(out.name + ".tmp")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
        json.dump({"commands": result.commands}, handle, indent=1)
    temporary.replace(out)
    return result
