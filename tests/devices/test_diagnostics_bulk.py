"""A bulk diagnostic on a group runs the diagnostic handler and keeps no figures (0040, 0041)."""

from __future__ import annotations

import sqlalchemy as sa

from doorstep.core.runtime import Runtime
from doorstep.devices.fleet import diagnostics_handler  # noqa: F401  (registers its handler)
from doorstep.devices.fleet.operations import OperationKind
from tests.devices.rollout_net import rig
from tests.devices.test_fleet_bulk_agents import _start, _until_done
from tests.usp_net.conftest import needs_mosquitto, run


@needs_mosquitto
def test_a_bulk_ping_runs_on_every_device_and_keeps_only_the_devices_word(
    committed: Runtime, broker: int
) -> None:
    async def scenario() -> None:
        async with rig(committed, broker, 3) as made:
            started = _start(
                made, OperationKind.DIAGNOSTIC, {"test": "ping", "host": "probe.example.net"}
            )
            view = await _until_done(made, started.id)
            assert (view.succeeded, view.failed) == (3, 0)
            with made.runtime.engine.connect() as connection:
                results = (
                    connection.execute(
                        sa.text("SELECT result FROM device_operations WHERE origin_id = :id"),
                        {"id": started.id},
                    )
                    .scalars()
                    .all()
                )
            assert results == [{"kind": "ping", "status": "Complete"}] * 3
            with made.runtime.engine.connect() as connection:
                runs = connection.execute(sa.text("SELECT count(*) FROM diagnostic_runs"))
                assert runs.scalar_one() == 0

    run(scenario(), timeout=120)
