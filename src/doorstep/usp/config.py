"""Configuration of the USP controller, its MTPs and the agent simulator.

:class:`UspConfig` is a frozen dataclass with a default for every field.
:func:`load_usp_config` builds one from :class:`~doorstep.core.settings.Settings`
(fields named ``usp_<field>``, once they exist there) and otherwise from the
environment (``DOORSTEP_USP_<FIELD>``), so it works before and after the fields land
in ``core/settings/``.  Nothing is read at import time.

The MQTT broker's address is a URL, ``mqtt://[user[:password]@]host[:port]`` (or
``mqtts://`` for TLS); the password may instead come from
``DOORSTEP_USP_MQTT_PASSWORD``, which keeps it out of process listings.
"""

from __future__ import annotations

import dataclasses
import logging
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

from doorstep.core.errors import ConfigurationError
from doorstep.core.settings import Environment, Settings
from doorstep.usp.credentials import (
    CredentialStore,
    InMemoryCredentialStore,
    JsonFileCredentialStore,
)
from doorstep.usp.endpoint import is_valid_endpoint_id

ENV_PREFIX = "DOORSTEP_USP_"
log = logging.getLogger("doorstep.usp")


@dataclass(frozen=True, slots=True)
class MqttBroker:
    """Where the broker is and how to log in; parsed from ``mqtt_url``."""

    host: str
    port: int
    tls: bool
    username: str | None = None
    password: str | None = field(default=None, repr=False)


@dataclass(frozen=True, slots=True)
class UspConfig:
    """Every knob of the USP controller and simulator.  Each field documents itself."""

    controller_id: str = "self::doorstep-controller"
    """The controller's Endpoint ID; agents must have it provisioned (they ignore others)."""
    mqtt_url: str = "mqtt://127.0.0.1:1883"
    """The broker: ``mqtt://[user[:password]@]host[:port]`` or ``mqtts://`` for TLS."""
    mqtt_password: str | None = field(default=None, repr=False)
    """The controller's broker password, when not in the URL."""
    mqtt_version: str = "5"
    """MQTT version of the controller's own connection: ``5`` or ``3.1.1`` (no shared subs)."""
    mqtt_controller_topic: str = "usp/controller"
    """Agents publish to ``<this>/<their endpoint id>``; the controller subscribes to ``/#``."""
    mqtt_response_topic: str = "usp/response"
    """Answers to this process's requests come to ``<this>/<instance>/<endpoint id>``."""
    mqtt_agent_topic: str = "usp/agent"
    """Agents listen on ``<this>/<endpoint id>``: the address used before one is learnt."""
    mqtt_shared_group: str = "doorstep"
    """MQTT 5 shared-subscription group (``$share/<group>/…``); "" subscribes plainly."""
    mqtt_qos: int = 1
    """QoS of the controller's subscriptions and publications (0 or 1)."""
    mqtt_check_topic_identity: bool = True
    """Accept a Record only if its from_id is the endpoint id in the topic (broker ACL)."""
    mqtt_keepalive: int = 30
    """MQTT keep-alive of the controller's connection, seconds."""
    request_timeout: float = 30.0
    """Seconds a request waits for its answer before DeviceTimeoutError."""
    max_record_size: int = 64 * 1024
    """Records larger than this many bytes are dropped (and audited)."""
    reconnect_min: float = 0.5
    """First wait before reconnecting to the broker, seconds; doubles up to reconnect_max."""
    reconnect_max: float = 15.0
    """Longest wait between broker reconnection attempts, seconds."""
    max_concurrent_tasks: int = 256
    """Hook calls and answers running at once; more wait in memory (never the MTP's read)."""
    traffic_hook_interval: float = 30.0
    """``on_agent_traffic`` is called at most once per agent per this many seconds."""
    audit_repeat_seconds: float = 60.0
    """The same refusal of the same endpoint is audited at most once per this period."""
    known_endpoint_ttl: float = 300.0
    """How long a credential-store lookup that found an endpoint is trusted, seconds."""
    credentials_file: Path | None = None
    """A JSON file of endpoint ids and secret hashes (development and the simulator)."""

    @property
    def broker(self) -> MqttBroker:
        """``mqtt_url`` parsed; raises ConfigurationError naming what is wrong."""
        parts = urlsplit(self.mqtt_url)
        if parts.scheme not in {"mqtt", "mqtts", "tcp", "ssl"} or not parts.hostname:
            raise ConfigurationError("usp mqtt_url must look like mqtt://host:port")
        tls = parts.scheme in {"mqtts", "ssl"}
        try:
            port = parts.port or (8883 if tls else 1883)
        except ValueError:
            raise ConfigurationError("usp mqtt_url has an invalid port") from None
        username = unquote(parts.username) if parts.username else None
        password = unquote(parts.password) if parts.password else self.mqtt_password
        return MqttBroker(parts.hostname, port, tls, username, password)

    @property
    def mqtt_v5(self) -> bool:
        """Whether the controller's own connection speaks MQTT 5."""
        return self.mqtt_version in {"5", "5.0"}

    def replace(self, **changes: Any) -> UspConfig:
        """A copy with ``changes`` applied and checked."""
        return _checked(dataclasses.replace(self, **changes))


def load_usp_config(
    settings: Settings | None = None, environ: Mapping[str, str] | None = None, **overrides: Any
) -> UspConfig:
    """Build the configuration: ``settings.usp_*``, else ``DOORSTEP_USP_*``, else defaults."""
    env = os.environ if environ is None else environ
    values: dict[str, Any] = {}
    for spec in dataclasses.fields(UspConfig):
        from_settings = getattr(settings, f"usp_{spec.name}", None) if settings else None
        raw = env.get(ENV_PREFIX + spec.name.upper())
        if from_settings is not None:
            values[spec.name] = _plain(from_settings)
        elif raw is not None and raw != "":
            values[spec.name] = _convert(spec.name, raw)
    values.update({k: v for k, v in overrides.items() if v is not None})
    try:
        return _checked(UspConfig(**values))
    except TypeError as exc:
        raise ConfigurationError(f"invalid usp setting: {exc}") from None


def _plain(value: Any) -> Any:
    """A pydantic SecretStr becomes its value; everything else is kept."""
    reveal = getattr(value, "get_secret_value", None)
    return reveal() if callable(reveal) else value


def _convert(name: str, raw: str) -> Any:
    default = {f.name: f.default for f in dataclasses.fields(UspConfig)}[name]
    try:
        if isinstance(default, bool):
            if raw.lower() not in {"1", "0", "true", "false", "yes", "no"}:
                raise ValueError(name)
            return raw.lower() in {"1", "true", "yes"}
        if isinstance(default, int):
            return int(raw)
        if isinstance(default, float):
            return float(raw)
        if name == "credentials_file":
            return Path(raw)
    except ValueError:
        raise ConfigurationError(f"{ENV_PREFIX}{name.upper()} has an invalid value") from None
    return raw


def _checked(config: UspConfig) -> UspConfig:
    if not is_valid_endpoint_id(config.controller_id):
        raise ConfigurationError("usp controller_id is not a valid USP Endpoint ID")
    if config.mqtt_version not in {"5", "5.0", "3.1.1"}:
        raise ConfigurationError("usp mqtt_version must be 5 or 3.1.1")
    if config.mqtt_qos not in {0, 1}:
        raise ConfigurationError("usp mqtt_qos must be 0 or 1")
    for name in ("mqtt_controller_topic", "mqtt_response_topic", "mqtt_agent_topic"):
        topic = getattr(config, name)
        if not topic or any(ch in topic for ch in "+#") or topic.endswith("/"):
            raise ConfigurationError(f"usp {name} must be a topic without wildcards or final /")
    if config.mqtt_shared_group and any(ch in config.mqtt_shared_group for ch in "/+#"):
        raise ConfigurationError("usp mqtt_shared_group must not contain / + #")
    positive = ("request_timeout", "max_record_size", "reconnect_min", "reconnect_max")
    for name in (*positive, "max_concurrent_tasks"):
        if getattr(config, name) <= 0:
            raise ConfigurationError(f"usp {name} must be positive")
    config.broker  # noqa: B018 - parse the URL now, so a bad one stops start-up
    return config


DEV_CREDENTIALS = "usp-credentials.json"
"""File name, in the data directory, of the development credentials (the simulator's)."""


def credentials_path(settings: Settings, config: UspConfig) -> Path | None:
    """The credentials file in force: the configured one; in development, the data dir's."""
    if config.credentials_file is not None:
        return config.credentials_file
    if settings.env is Environment.PRODUCTION:
        return None
    return settings.data_dir / DEV_CREDENTIALS


def default_credentials(settings: Settings, config: UspConfig) -> CredentialStore:
    """The file store of :func:`credentials_path`, or an empty store (refuses every device)."""
    path = credentials_path(settings, config)
    if path is None:
        log.warning("no USP credential store configured: every device will be refused")
        return InMemoryCredentialStore()
    return JsonFileCredentialStore(path)
