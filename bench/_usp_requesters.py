"""The requester processes of ``bench_usp_cpu``: each in a process of its own.

    python -m bench._usp_requesters doorstep|paho|aiomqtt PORT ENDPOINTS CREDENTIALS

ENDPOINTS is a JSON list of endpoint ids, read at the first command.

* ``doorstep``: what ``doorstep controller`` runs for USP: the Controller on its
  MqttTransport (MQTT 5, shared subscription), sending ``controller.get``.
* ``paho``: a plain paho-mqtt client on its own network thread (``loop_start``).
* ``aiomqtt``: a plain aiomqtt client in an asyncio loop.

Every requester sends the same Get of ``Device.DeviceInfo.`` to the same agents through
the same broker, 64 in flight, round-robin over the agents, and matches each answer to
its request by msg_id.  The baselines build the Record with the protobuf classes alone
and read only the answer's msg_id (the least any requester does); they reuse one set of
publish properties and one response topic, as a plain client would.

Commands arrive on stdin, one a line; answers are JSON lines on stdout:

* ``gets N``: a warm-up of N/10 Gets, then ``{"event": "start"}`` and N measured Gets,
  then ``{"done": N, "cpu": s, "wall": s}`` (CPU of this whole process, every thread).
* ``notify SECONDS`` (doorstep): every agent gets a subscription to ``Periodic!`` every
  second (NotifRetry, so each Notify is answered); after a ramp, ``{"event": "start"}``
  and ``{"done": notifications handled, "cpu": s, "wall": s}``; then the interval is
  set back to 0.
* ``tables`` (doorstep): ``{"agents": n, "bytes": b}``, the bytes of the controller's
  per-agent tables (see :func:`table_bytes`).
* ``agents`` (doorstep): ``{"agents": n}``, agents that sent a Connect Record.
* ``quit``.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import os
import resource
import sys
import threading
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

IN_FLIGHT = 64
AGENT_TOPIC = "usp/agent"
CONTROLLER_ID = "self::doorstep-controller"
PERIODIC = "Device.LocalAgent.Controller.1.PeriodicNotifInterval"


def _say(obj: dict[str, Any]) -> None:
    print(json.dumps(obj), flush=True)


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def get_record(endpoint_id: str, msg_id: str) -> bytes:
    """A Get of ``Device.DeviceInfo.`` as a Record, built with the protobuf classes only."""
    from doorstep.usp.proto import usp_msg_pb2 as m
    from doorstep.usp.proto import usp_record_pb2 as r

    msg = m.Msg(
        header=m.Header(msg_id=msg_id, msg_type=m.Header.GET),
        body=m.Body(request=m.Request(get=m.Get(param_paths=["Device.DeviceInfo."]))),
    )
    record = r.Record(
        version="1.3",
        to_id=endpoint_id,
        from_id=CONTROLLER_ID,
        no_session_context=r.NoSessionContextRecord(payload=msg.SerializeToString()),
    )
    return record.SerializeToString()


def answer_id(payload: bytes) -> str:
    """The msg_id of an answer Record (protobuf only, nothing else read)."""
    from doorstep.usp.proto import usp_msg_pb2 as m
    from doorstep.usp.proto import usp_record_pb2 as r

    record = r.Record.FromString(payload)
    return str(m.Msg.FromString(record.no_session_context.payload).header.msg_id)


async def _measured(total: int, work: Callable[[int], Awaitable[None]]) -> None:
    """Warm up with ``work(total // 10)``, then measure ``work(total)``."""
    await work(max(total // 10, IN_FLIGHT))
    _say({"event": "start"})
    cpu, wall = _cpu(), time.perf_counter()
    await work(total)
    _say({"done": total, "cpu": _cpu() - cpu, "wall": time.perf_counter() - wall})


async def _commands(
    handlers: dict[str, Callable[[float], Awaitable[None]]], endpoints: list[str], source: Path
) -> None:
    """Run commands until ``quit``; the endpoints are read at the first (agents start late)."""
    while True:
        line = (await asyncio.to_thread(sys.stdin.readline)).split()
        if not line or line[0] == "quit":
            return
        if not endpoints:
            endpoints.extend(json.loads(source.read_text()))
        await handlers[line[0]](float(line[1]) if len(line) > 1 else 0)


# -- Doorstep ----------------------------------------------------------------------------


def table_bytes(controller: Any) -> int:
    """Bytes of the controller's per-agent tables: containers, keys and values, each once."""
    seen: set[int] = set()
    total = 0
    for table in (
        controller._agents,  # the bench reads what the controller keeps
        controller._known,
        controller._traffic,
        controller._arrived,
    ):
        total += sys.getsizeof(table)
        items = table.items() if isinstance(table, dict) else ((key, None) for key in table)
        for key, value in items:
            for obj in (key, value, *getattr(value, "__dict__", {}).values()):
                if obj is not None and id(obj) not in seen:
                    seen.add(id(obj))
                    total += sys.getsizeof(obj)
            for name in getattr(type(value), "__slots__", ()):
                part = getattr(value, name)
                if id(part) not in seen:
                    seen.add(id(part))
                    total += sys.getsizeof(part)
    return total


async def _doorstep(port: int, source: Path, credentials: Path) -> None:
    from doorstep.usp import messages
    from doorstep.usp.config import UspConfig
    from doorstep.usp.controller import Controller, NullAuditSink
    from doorstep.usp.credentials import JsonFileCredentialStore
    from doorstep.usp.mtp.mqtt import MqttTransport

    config = UspConfig(
        mqtt_url=f"mqtt://127.0.0.1:{port}",
        credentials_file=credentials,
        request_timeout=20,
        traffic_hook_interval=3600,
    )
    store = JsonFileCredentialStore(credentials)
    controller = Controller(config, credentials=store, audit=NullAuditSink())
    transport = MqttTransport(controller)
    task = asyncio.create_task(transport.run())
    await asyncio.wait_for(transport.connected.wait(), 10)
    _say({"event": "ready"})
    endpoints: list[str] = []

    async def fan_out(count: int, call: Callable[[str], Awaitable[object]]) -> None:
        counter = iter(range(count))

        async def worker() -> None:
            for n in counter:
                await call(endpoints[n % len(endpoints)])

        await asyncio.gather(*(worker() for _ in range(IN_FLIGHT)))

    async def gets(total: float) -> None:
        get = controller.get
        await _measured(
            int(total), lambda n: fan_out(n, lambda eid: get(eid, "Device.DeviceInfo."))
        )

    async def subscribe(eid: str) -> None:
        table = {"Device.LocalAgent.Subscription.": {
            "Enable": "true", "ID": "bench-periodic", "NotifType": "Event",
            "ReferenceList": "Device.LocalAgent.Periodic!", "NotifRetry": "true",
        }}  # fmt: skip
        msg = messages.add(controller.next_msg_id(), table)
        await controller.request(eid, msg)
        await controller.set(eid, {PERIODIC: "1"})

    async def notify(seconds: float) -> None:
        await fan_out(len(endpoints), subscribe)
        await asyncio.sleep(3)  # every agent's ticker is running
        before = controller.counters["notifications"]
        _say({"event": "start"})
        cpu, wall = _cpu(), time.perf_counter()
        await asyncio.sleep(seconds)
        handled = controller.counters["notifications"] - before
        _say({"done": handled, "cpu": _cpu() - cpu, "wall": time.perf_counter() - wall})
        await fan_out(len(endpoints), lambda eid: controller.set(eid, {PERIODIC: "0"}))

    async def tables(_: float) -> None:
        _say({"agents": len(controller.agents), "bytes": table_bytes(controller)})

    async def agents(_: float) -> None:
        _say({"agents": controller.connected})

    try:
        handlers = {"gets": gets, "notify": notify, "tables": tables, "agents": agents}
        await _commands(handlers, endpoints, source)
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        await controller.aclose()


# -- plain aiomqtt -----------------------------------------------------------------------


async def _aiomqtt(port: int, source: Path) -> None:
    import aiomqtt
    from paho.mqtt.packettypes import PacketTypes
    from paho.mqtt.properties import Properties
    from paho.mqtt.subscribeoptions import SubscribeOptions

    from doorstep.usp.mtp._topics import NO_DELAY

    reply = f"bench/reply/aiomqtt-{os.getpid()}"
    properties = Properties(PacketTypes.PUBLISH)  # type: ignore[no-untyped-call]
    properties.ContentType = "usp.msg"
    properties.ResponseTopic = reply
    waiting: dict[str, asyncio.Future[None]] = {}
    ids = itertools.count()
    endpoints: list[str] = []
    client = aiomqtt.Client(
        "127.0.0.1", port, identifier=reply.rsplit("/", 1)[1],
        protocol=aiomqtt.ProtocolVersion.V5, socket_options=NO_DELAY,
    )  # fmt: skip
    async with client:
        client.pending_calls_threshold = 1 << 30
        await client.subscribe(reply, options=SubscribeOptions(1))

        async def read() -> None:
            async for message in client.messages:
                future = waiting.pop(answer_id(message.payload), None)  # type: ignore[arg-type]
                if future is not None:
                    future.set_result(None)

        reader = asyncio.create_task(read())
        loop = asyncio.get_running_loop()

        async def requests(count: int) -> None:
            counter = iter(range(count))

            async def worker() -> None:
                for n in counter:
                    msg_id = f"aiomqtt-{next(ids)}"
                    eid = endpoints[n % len(endpoints)]
                    future = waiting[msg_id] = loop.create_future()
                    payload = get_record(eid, msg_id)
                    await client.publish(f"{AGENT_TOPIC}/{eid}", payload, 1, properties=properties)
                    await future

            await asyncio.gather(*(worker() for _ in range(IN_FLIGHT)))

        async def gets(total: float) -> None:
            await _measured(int(total), requests)

        _say({"event": "ready"})
        await _commands({"gets": gets}, endpoints, source)
        reader.cancel()


# -- plain paho-mqtt, threaded loop ------------------------------------------------------


def _paho(port: int, source: Path) -> None:
    import socket

    import paho.mqtt.client as mqtt
    from paho.mqtt.packettypes import PacketTypes
    from paho.mqtt.properties import Properties

    reply = f"bench/reply/paho-{os.getpid()}"
    properties = Properties(PacketTypes.PUBLISH)  # type: ignore[no-untyped-call]
    properties.ContentType = "usp.msg"
    properties.ResponseTopic = reply
    slots = threading.Semaphore(IN_FLIGHT)
    lock = threading.Lock()
    waiting: set[str] = set()
    finished = threading.Event()
    subscribed = threading.Event()
    endpoints: list[str] = []

    def on_message(_client: object, _data: object, message: mqtt.MQTTMessage) -> None:
        msg_id = answer_id(message.payload)
        with lock:
            if msg_id not in waiting:
                return
            waiting.discard(msg_id)
            if not waiting:
                finished.set()
        slots.release()

    client = mqtt.Client(
        mqtt.CallbackAPIVersion.VERSION2, client_id=reply.rsplit("/", 1)[1],
        protocol=mqtt.MQTTv5,
    )  # fmt: skip
    client.on_message = on_message
    client.on_subscribe = lambda *_: subscribed.set()
    client.connect("127.0.0.1", port)
    sock = client.socket()
    assert isinstance(sock, socket.socket)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    client.loop_start()
    client.subscribe(reply, qos=1)
    subscribed.wait(10)
    ids = itertools.count()

    async def requests(count: int) -> None:
        finished.clear()
        for n in range(count):
            slots.acquire()
            msg_id = f"paho-{next(ids)}"
            eid = endpoints[n % len(endpoints)]
            with lock:
                waiting.add(msg_id)
            client.publish(
                f"{AGENT_TOPIC}/{eid}", get_record(eid, msg_id), 1, properties=properties
            )
        await asyncio.to_thread(finished.wait)

    async def gets(total: float) -> None:
        await _measured(int(total), requests)

    async def main() -> None:
        _say({"event": "ready"})
        await _commands({"gets": gets}, endpoints, source)

    asyncio.run(main())
    client.loop_stop()
    client.disconnect()


def main() -> None:
    """Run the requester named on the command line until ``quit``."""
    kind, port, endpoints = sys.argv[1], int(sys.argv[2]), Path(sys.argv[3])
    if kind == "doorstep":
        asyncio.run(_doorstep(port, endpoints, Path(sys.argv[4])))
    elif kind == "aiomqtt":
        asyncio.run(_aiomqtt(port, endpoints))
    else:
        _paho(port, endpoints)


if __name__ == "__main__":
    main()
