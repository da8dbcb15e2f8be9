"""Simulated USP agents: home routers and gateways for tests, benchmarks and the demo.

* :class:`SimAgent` (``agent``): the USP behaviour of one device: the TR-181 subset
  of ``datamodel`` (DeviceInfo with its firmware images, Ethernet, IP, PPP, Wi-Fi SSID
  and security, Hosts), Set semantics with USP error codes, Reboot() followed by
  Boot!, the asynchronous NeighboringWiFiDiagnostic(), firmware Download() and
  Activate() (``_firmware``), IP diagnostics (``_diagnostics``), Boot! and
  OnBoardRequest on first connect.
* :class:`SimTiming` and :class:`SimConditions` (``_conditions``): delays and their
  per-device jitter; clock, seed and failure rates, shared by a fleet.
* MTPs: :func:`run_mqtt_agent` (MQTT 5 or 3.1.1) and :func:`run_websocket_agent`.
* ``fleet``: N devices with their own secrets and claim-code placeholders.
* ``cli``: ``doorstep agent-sim --count N --mtp mqtt|websocket [--strict]``.

``strict=True`` (``--strict``) makes a device behave like a real agent (notifications
only to subscribers, no OnBoardRequest, an unclean drop on reboot so a provisioned
last will fires); the lenient default is what the demo needs.  See ``agent``.
"""

from doorstep.usp.agent_sim._conditions import SimConditions, SimTiming
from doorstep.usp.agent_sim._mqtt import MqttOptions, run_mqtt_agent
from doorstep.usp.agent_sim._websocket import WebSocketOptions, run_websocket_agent
from doorstep.usp.agent_sim.agent import SimAgent
from doorstep.usp.agent_sim.datamodel import DataModel, Host, Profile
from doorstep.usp.agent_sim.fleet import make_agents, make_profile, run_fleet, write_credentials

__all__ = [
    "DataModel",
    "Host",
    "MqttOptions",
    "Profile",
    "SimAgent",
    "SimConditions",
    "SimTiming",
    "WebSocketOptions",
    "make_agents",
    "make_profile",
    "run_fleet",
    "run_mqtt_agent",
    "run_websocket_agent",
    "write_credentials",
]
