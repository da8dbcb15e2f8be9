"""One paho-mqtt connection driven by the running asyncio loop (paho's external-loop use).

paho-mqtt documents how to run its client inside someone else's event loop
(``examples/loop_asyncio.py`` of paho-mqtt): its socket callbacks hand the socket to
the loop, which calls ``loop_read`` when the socket is readable, ``loop_write`` when
paho has bytes queued, and ``loop_misc`` (keep-alive) every second.  :class:`PahoSession`
is one connection made that way, with what an asyncio caller needs on top:

* :meth:`PahoSession.open` connects (paho's blocking TCP connect and TLS handshake in
  a worker thread, as aiomqtt does) and waits for the CONNACK;
  :meth:`PahoSession.subscribe` waits for the SUBACK and fails on a refused filter.
* :meth:`PahoSession.publish` hands a PUBLISH to paho and returns at once; nothing
  waits for its PUBACK (paho keeps the QoS 1/2 state and its in-flight window).  What
  the loop's callbacks queue in one turn is written by one ``loop_write`` right after
  them (``call_soon``), not one write per publish; the socket is watched for writing
  only while the kernel refuses bytes.
* Received PUBLISH packets wait in arrival order; :meth:`PahoSession.deliver` hands
  them to one handler, one after the other, and raises :class:`SessionLost` once the
  connection is gone and the messages that arrived before are handled.

A session is one connection: a new one is made for each reconnection, so nothing
queued on a lost connection is ever sent again on the next one.  Create and use it on
the loop's thread; paho's callbacks from the connecting worker thread are ignored and
their work done by :meth:`PahoSession.open` once the socket is connected.
"""

from __future__ import annotations

import asyncio
import collections
import functools
import socket
import ssl
import threading
from collections.abc import Awaitable, Callable, Iterable
from typing import Any, Literal

import paho.mqtt.client as paho
from paho.mqtt.properties import Properties
from paho.mqtt.reasoncodes import ReasonCode
from paho.mqtt.subscribeoptions import SubscribeOptions

SocketOption = tuple[int, int, int]
_CORK: int = getattr(socket, "TCP_CORK", 0)
"""Linux's TCP_CORK (0 elsewhere: not used): hold the segments of one write turn."""
MISC_INTERVAL = 1.0
"""Seconds between two ``loop_misc`` calls (keep-alive PINGREQ, PINGRESP overdue)."""


class SessionLost(Exception):
    """The connection could not be made, was refused, or was lost.

    The message names the kind of failure only (an exception class or an MQTT reason),
    never a topic or an address.
    """


class PahoSession:
    """One MQTT connection through paho on the running loop (see the module docstring)."""

    def __init__(self, client: paho.Client, *, socket_options: Iterable[SocketOption] = ()) -> None:
        self._client = client
        self._socket_options = tuple(socket_options)
        self._loop = asyncio.get_running_loop()
        self._thread = threading.get_ident()
        self._sock: paho.SocketLike | None = None
        self._writing = False
        self._flush_due = False
        self._misc: asyncio.TimerHandle | None = None
        self._connack: asyncio.Future[None] = self._loop.create_future()
        self._subacks: dict[int, asyncio.Future[list[ReasonCode]]] = {}
        self._inbox: collections.deque[paho.MQTTMessage] = collections.deque()
        self._waiter: asyncio.Future[None] | None = None
        self._lost: SessionLost | None = None
        client.on_connect = self._on_connect
        client.on_disconnect = self._on_disconnect
        client.on_subscribe = self._on_subscribe
        client.on_message = self._on_message
        client.on_socket_close = self._on_socket_close
        client.on_socket_register_write = self._on_register_write
        client.on_socket_unregister_write = self._on_unregister_write

    # -- connecting ---------------------------------------------------------------------

    async def open(
        self,
        host: str,
        port: int,
        *,
        keepalive: int,
        clean_start: bool | Literal[3],
        properties: Properties | None,
        timeout: float,
    ) -> None:
        """Connect and wait for a successful CONNACK, or raise :class:`SessionLost`."""
        client = self._client
        client.connect_timeout = timeout
        connect = functools.partial(
            client.connect, host, port, keepalive, clean_start=clean_start, properties=properties
        )
        connecting = self._loop.run_in_executor(None, _closing_on_failure, connect)
        try:
            await asyncio.shield(connecting)
        except (OSError, ValueError, paho.WebsocketConnectionError) as exc:
            raise SessionLost(type(exc).__name__) from None
        except asyncio.CancelledError:  # the thread goes on: close what it connects
            connecting.add_done_callback(self._abandoned)
            raise
        sock = client.socket()
        if sock is None:
            raise SessionLost("no socket")
        if isinstance(sock, socket.socket):
            for option in self._socket_options:
                sock.setsockopt(*option)
        self._sock = sock
        self._loop.add_reader(sock.fileno(), self._on_readable)
        self._misc = self._loop.call_later(MISC_INTERVAL, self._keep_alive)
        self._flush()  # the CONNECT packet paho queued in the worker thread
        try:
            await asyncio.wait_for(self._connack, timeout)
        except TimeoutError:
            raise SessionLost("no CONNACK in time") from None

    def _abandoned(self, connecting: asyncio.Future[None]) -> None:
        if not connecting.cancelled() and connecting.exception() is None:
            sock = self._client.socket()
            if sock is not None:
                sock.close()

    async def subscribe(self, filters: list[tuple[str, int | SubscribeOptions]]) -> None:
        """Subscribe to ``filters`` ((filter, QoS or v5 options)); wait for the SUBACK."""
        result, mid = self._client.subscribe(filters)  # type: ignore[arg-type]
        if result != paho.MQTT_ERR_SUCCESS or mid is None:
            raise SessionLost(paho.error_string(result))
        if self._lost is not None:
            raise self._lost
        suback = self._subacks[mid] = self._loop.create_future()
        codes = await suback  # or SessionLost, when the connection goes first
        refused = [code for code in codes if code.is_failure]
        if refused:
            raise SessionLost(f"subscription refused: {refused[0].getName()}")

    # -- publishing and receiving -------------------------------------------------------

    def publish(self, topic: str, payload: bytes, qos: int, properties: Properties | None) -> None:
        """Queue one PUBLISH; raise :class:`SessionLost` if paho refuses it (no connection)."""
        info = self._client.publish(topic, payload, qos, properties=properties)
        if info.rc != paho.MQTT_ERR_SUCCESS:
            raise SessionLost(paho.error_string(info.rc))

    async def deliver(self, handler: Callable[[paho.MQTTMessage], Awaitable[None]]) -> None:
        """Hand each received message to ``handler`` in order; raise SessionLost at the end."""
        inbox = self._inbox
        while True:
            while inbox:
                await handler(inbox.popleft())
            if self._lost is not None:
                raise self._lost
            waiter = self._waiter = self._loop.create_future()
            try:
                await waiter
            finally:
                self._waiter = None

    def close(self) -> None:
        """Send a DISCONNECT if the socket takes it, and stop watching the socket."""
        client = self._client
        if self._misc is not None:
            self._misc.cancel()
            self._misc = None
        if self._sock is not None and self._lost is None:
            client.disconnect()
            client.loop_write()  # sends DISCONNECT; paho then closes the socket
        sock = self._sock
        if sock is not None:  # the DISCONNECT did not go out: close it ourselves
            self._unwatch(sock)
            sock.close()
        self._lose(SessionLost("closed"))

    # -- paho's callbacks and the loop's ------------------------------------------------

    def _on_readable(self) -> None:
        client = self._client
        try:
            client.loop_read()
            sock = self._sock  # TLS may hold decrypted bytes the selector will not report
            while sock is not None and isinstance(sock, ssl.SSLSocket) and sock.pending():
                client.loop_read()
                sock = self._sock
        except Exception as exc:  # a broken socket paho did not expect: drop the connection
            self._drop(exc)

    def _drop(self, exc: Exception) -> None:
        sock = self._sock
        if sock is not None:
            self._unwatch(sock)
            sock.close()
        self._lose(SessionLost(type(exc).__name__))

    def _flush(self) -> None:
        self._flush_due = False
        client = self._client
        corked = self._sock if isinstance(self._sock, socket.socket) and _CORK else None
        try:
            if corked is not None:  # the packets of this turn leave in as few segments
                corked.setsockopt(socket.IPPROTO_TCP, _CORK, 1)
            client.loop_write()
            if corked is not None and corked.fileno() >= 0:  # paho may have closed it
                corked.setsockopt(socket.IPPROTO_TCP, _CORK, 0)
        except Exception as exc:  # as in _on_readable
            self._drop(exc)
            return
        sock = self._sock
        if sock is not None and client.want_write() and not self._writing:
            self._writing = True  # the kernel's buffer is full: write when it has room
            self._loop.add_writer(sock.fileno(), self._flush)

    def _keep_alive(self) -> None:
        self._misc = None
        if self._client.loop_misc() == paho.MQTT_ERR_SUCCESS and self._sock is not None:
            self._misc = self._loop.call_later(MISC_INTERVAL, self._keep_alive)

    def _on_register_write(self, _client: paho.Client, _data: object, _sock: object) -> None:
        if threading.get_ident() != self._thread or self._flush_due:
            return  # open() writes what the worker thread queued
        self._flush_due = True
        self._loop.call_soon(self._flush)

    def _on_unregister_write(self, _client: paho.Client, _data: object, sock: object) -> None:
        if self._writing and threading.get_ident() == self._thread:
            self._writing = False
            self._loop.remove_writer(sock.fileno())  # type: ignore[attr-defined]

    def _on_socket_close(self, _client: paho.Client, _data: object, sock: object) -> None:
        if threading.get_ident() == self._thread and self._sock is not None and sock is self._sock:
            self._unwatch(self._sock)

    def _unwatch(self, sock: paho.SocketLike) -> None:
        self._sock = None
        if sock.fileno() >= 0:
            self._loop.remove_reader(sock.fileno())
            if self._writing:
                self._loop.remove_writer(sock.fileno())
        self._writing = False

    def _on_connect(
        self,
        _client: paho.Client,
        _data: object,
        _flags: paho.ConnectFlags,
        reason: ReasonCode,
        _properties: Properties | None,
    ) -> None:
        if self._connack.done():
            return
        if reason.is_failure:
            self._connack.set_exception(SessionLost(f"connection refused: {reason.getName()}"))
        else:
            self._connack.set_result(None)

    def _on_disconnect(
        self,
        _client: paho.Client,
        _data: object,
        _flags: paho.DisconnectFlags,
        reason: ReasonCode,
        _properties: Properties | None,
    ) -> None:
        self._lose(SessionLost(f"connection lost: {reason.getName()}"))

    def _lose(self, lost: SessionLost) -> None:
        if self._lost is None:
            self._lost = lost
        waiting: list[asyncio.Future[Any]] = [self._connack, *self._subacks.values()]
        self._subacks.clear()
        for future in waiting:
            if not future.done():
                future.set_exception(self._lost)
                future.exception()  # retrieved: whoever waited may be gone
        self._wake()

    def _on_subscribe(
        self,
        _client: paho.Client,
        _data: object,
        mid: int,
        codes: list[ReasonCode],
        _properties: Properties | None,
    ) -> None:
        suback = self._subacks.pop(mid, None)
        if suback is not None and not suback.done():
            suback.set_result(codes)

    def _on_message(self, _client: paho.Client, _data: object, message: paho.MQTTMessage) -> None:
        self._inbox.append(message)
        self._wake()

    def _wake(self) -> None:
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)


def _closing_on_failure(connect: Callable[[], object]) -> None:
    """``connect()``; if it fails, close the sockets its frames opened, then re-raise.

    paho leaves the socket of a failed connection (a refused TLS handshake) to the
    garbage collector, which warns (ResourceWarning) whenever it comes by.
    """
    try:
        connect()
    except BaseException as exc:
        trace = exc.__traceback__
        while trace is not None:
            for value in trace.tb_frame.f_locals.values():
                if isinstance(value, socket.socket):
                    value.close()
            trace = trace.tb_next
        raise
