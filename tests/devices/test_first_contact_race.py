"""Simultaneous first contacts of one device all land (connect and traffic hooks race).

Over MQTT a strict agent's Connect Record and its first answers arrive together, so
the controller's connect and traffic hooks write the new device's record from two
threads at the same moment.  PostgreSQL's ON CONFLICT checks only ``device_id``; the
loser used to fail on the unique ``endpoint_id`` and, when it was the connect hook,
the registration was never read.
"""

from __future__ import annotations

import threading
import uuid

import sqlalchemy as sa

from doorstep.core.runtime import Runtime
from doorstep.devices.registry import record_contact
from doorstep.usp.config import UspConfig
from doorstep.usp.controller import MQTT, AgentAddress
from tests.devices.conftest import device_id_of, devices_for, provision

ROUNDS = 400
RACERS = 4  # without the retry, some of these races are lost in every run


def test_simultaneous_first_contacts_of_a_device_both_succeed(committed: Runtime) -> None:
    agents = devices_for(UspConfig(), ROUNDS)
    with committed.sessions.begin() as session:
        provision(session, committed, agents)
        ids = [device_id_of(session, committed, agent) for agent in agents]
    failures: list[str] = []

    def contact(device_id: uuid.UUID, endpoint_id: str, start: threading.Barrier) -> None:
        address = AgentAddress(MQTT, f"agent/{uuid.uuid4().hex}", True)
        try:
            with committed.sessions.begin() as session:
                session.execute(sa.text("SELECT 1"))  # connected: only the upsert races
                start.wait()
                record_contact(
                    session,
                    device_id,
                    endpoint_id=endpoint_id,
                    address=address,
                    now=committed.clock.now(),
                )
        except Exception as exc:
            failures.append(type(exc).__name__)

    for device_id, agent in zip(ids, agents, strict=True):
        start = threading.Barrier(RACERS, timeout=10)
        racers = [
            threading.Thread(target=contact, args=(device_id, agent.endpoint_id, start))
            for _ in range(RACERS)
        ]
        for racer in racers:
            racer.start()
        for racer in racers:
            racer.join()

    assert failures == []
    with committed.engine.connect() as connection:
        count = connection.execute(sa.text("SELECT count(*) FROM device_registrations")).scalar()
    assert count == ROUNDS
