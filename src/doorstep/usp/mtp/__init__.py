"""USP Message Transfer Protocols of the controller.

* :mod:`doorstep.usp.mtp.mqtt`: :class:`~doorstep.usp.mtp.mqtt.MqttTransport`, MQTT 5
  (or 3.1.1) through any broker, shared subscriptions across controller processes.
* :mod:`doorstep.usp.mtp.websocket`: the ``/usp`` WebSocket route ``doorstep serve``
  hosts (``router``), with per-device credentials on the upgrade.

Both feed :meth:`doorstep.usp.controller.Controller.receive` and implement
:class:`doorstep.usp.controller.Transport`.
"""
