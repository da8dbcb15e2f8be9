"""Which replica holds a device's WebSocket session: claims, leases, liveness, the sweep.

The database side of the relay (:mod:`doorstep.devices.holders`, decision 0047), whose
statements commit on connections of their own; a replica's listener is "alive" while
a connection with its application name is open.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from datetime import timedelta

import psycopg
import sqlalchemy as sa

from doorstep.core.clock import FakeClock
from doorstep.core.runtime import Runtime
from doorstep.devices import presence
from doorstep.devices.holders import APPLICATION_PREFIX, HolderBook
from doorstep.devices.registry import record_contact
from doorstep.usp.config import UspConfig
from doorstep.usp.controller import WEBSOCKET, AgentAddress
from tests.devices.conftest import device_id_of, devices_for, provision

LEASE = 3.0


def _online(runtime: Runtime, endpoint_id: str) -> bool | None:
    with runtime.sessions() as session:
        found = session.execute(
            sa.text("SELECT online FROM device_registrations WHERE endpoint_id = :e"),
            {"e": endpoint_id},
        ).scalar_one_or_none()
    return None if found is None else bool(found)


def _holders(runtime: Runtime) -> list[tuple[str, str]]:
    with runtime.sessions() as session:
        rows = session.execute(
            sa.text(
                "SELECT d.id::text, h.replica FROM device_session_holders h "
                "JOIN devices d ON d.id = h.device_id ORDER BY 1"
            )
        ).all()
    return [(str(r[0]), str(r[1])) for r in rows]


@contextlib.contextmanager
def _listening(runtime: Runtime, replica: str) -> Iterator[None]:
    """A connection named as ``replica``'s listener: the others see it alive."""
    with psycopg.connect(runtime.database_url, application_name=APPLICATION_PREFIX + replica):
        yield


def _connected(runtime: Runtime, count: int) -> list[str]:
    agents = devices_for(UspConfig(), count)
    with runtime.sessions.begin() as session:
        provision(session, runtime, agents)
        for agent in agents:
            record_contact(
                session,
                device_id_of(session, runtime, agent),
                endpoint_id=agent.endpoint_id,
                address=AgentAddress(WEBSOCKET),
                now=runtime.clock.now(),
            )
    return [agent.endpoint_id for agent in agents]


def test_a_request_reaches_only_a_live_replica_holding_the_session(committed: Runtime) -> None:
    runtime = committed
    eid, other = _connected(runtime, 2)
    a, b = HolderBook(runtime, "aaaa0001", LEASE), HolderBook(runtime, "bbbb0001", LEASE)
    a.register()
    b.register()
    assert a.claim([eid, "os::unknown-000000000000"]) == 1  # the inventory knows one
    assert not b.relay(eid, ["q"]), "A's listener is not there: A counts as gone"
    with _listening(runtime, a.replica):
        assert b.relay(eid, ["q", "q2"])
        assert not b.relay(other, ["q"]), "nobody holds the other device"
        assert not a.relay(eid, ["q"]), "a replica never relays to itself"
        b.claim([eid])  # the device reconnected to B: the newest session wins
        assert _holders(runtime) == [(str(_id(runtime, eid)), b.replica)]
        a.release(eid)  # A's late goodbye leaves B's claim alone
        assert _holders(runtime) == [(str(_id(runtime, eid)), b.replica)]
        assert not a.relay(eid, ["q"]), "B's listener is not there"


def test_a_session_that_ends_while_another_replica_holds_one_leaves_the_device_online(
    committed: Runtime,
) -> None:
    runtime = committed
    (eid,) = _connected(runtime, 1)
    a, b = HolderBook(runtime, "aaaa0002", LEASE), HolderBook(runtime, "bbbb0002", LEASE)
    a.register()
    b.register()
    b.claim([eid])  # it reconnected to B before A noticed its old session end

    def ended() -> None:
        with runtime.sessions.begin() as session:
            presence.went_offline(session, eid, now=runtime.clock.now())

    ended()
    assert _online(runtime, eid) is True
    b.release(eid)
    ended()
    assert _online(runtime, eid) is False


def test_a_replica_gone_a_lease_more_is_swept_and_its_devices_go_offline(
    committed: Runtime, clock: FakeClock
) -> None:
    runtime = committed
    held, kept = _connected(runtime, 2)
    a, b = HolderBook(runtime, "aaaa0003", LEASE), HolderBook(runtime, "bbbb0003", LEASE)
    a.register()
    b.register()
    a.claim([held])
    b.claim([kept])
    clock.advance(timedelta(seconds=LEASE * 1.5))  # A's lease lapsed, but not a lease ago yet
    assert b.renew()
    assert b.sweep() == 0 and _online(runtime, held) is True
    clock.advance(timedelta(seconds=LEASE))
    assert b.renew()
    assert b.sweep() == 1
    assert _online(runtime, held) is False and _online(runtime, kept) is True
    assert [replica for _id, replica in _holders(runtime)] == [b.replica]
    assert not a.renew(), "A was swept: it must register and claim again"
    a.register()
    assert a.claim([held]) == 1


def _id(runtime: Runtime, endpoint_id: str) -> object:
    with runtime.sessions() as session:
        return session.execute(
            sa.text("SELECT device_id FROM device_registrations WHERE endpoint_id = :e"),
            {"e": endpoint_id},
        ).scalar_one()
