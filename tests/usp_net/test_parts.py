"""The pieces without a network: secrets, topics, configuration, the simulated data model."""

from __future__ import annotations

from pathlib import Path

import pytest

from doorstep.core.errors import ConfigurationError, InvalidInputError
from doorstep.usp import ErrorMsg, Get, GetInstances, ParamSetting, Set, SetResp, UpdateObject
from doorstep.usp.agent_sim import DataModel, make_profile
from doorstep.usp.agent_sim.datamodel import build_values
from doorstep.usp.config import load_usp_config
from doorstep.usp.credentials import (
    InMemoryCredentialStore,
    JsonFileCredentialStore,
    SecretHash,
    hash_secret,
)
from doorstep.usp.mtp._topics import endpoint_after, split_reply_to, with_reply_to
from tests.usp_net.conftest import run


def test_secrets_are_stored_as_salted_scrypt_hashes_only() -> None:
    secret = "a-device-secret-of-32-characters"
    stored = hash_secret(secret, log_n=10)
    text = stored.encode()
    assert secret not in text and text.startswith("scrypt$10$8$1$")
    again = SecretHash.parse(text)
    assert again.verify(secret)
    assert not again.verify(secret + "x")
    assert hash_secret(secret, log_n=10).encode() != text  # a fresh salt each time
    with pytest.raises(InvalidInputError):
        hash_secret("short")
    with pytest.raises(InvalidInputError):
        SecretHash.parse("md5$abc")


def test_the_credentials_file_round_trips_and_is_reread(tmp_path: Path) -> None:
    store = InMemoryCredentialStore()
    store.add("os::02D00C-ABC0001", "secret-one-secret-one", secret_hash=None)
    path = tmp_path / "creds.json"
    store.save(path)
    assert path.stat().st_mode & 0o777 == 0o600
    reader = JsonFileCredentialStore(path)
    assert run(reader.lookup("os::02D00C-ABC0001")) is not None
    assert run(reader.lookup("os::02D00C-ABC0002")) is None
    store.add("os::02D00C-ABC0002", secret_hash=hash_secret("secret-two-secret-two", log_n=10))
    store.save(path)
    verifier = run(reader.lookup("os::02D00C-ABC0002"))
    assert verifier is not None and verifier.verify("secret-two-secret-two")


def test_reply_to_topics_follow_r_mqtt_24_and_25() -> None:
    topic = with_reply_to("usp/agents/cid:3AA3F8:x", "usp/controllers/oui:00256D:y")
    assert topic == "usp/agents/cid:3AA3F8:x/reply-to=usp%2Fcontrollers%2Foui:00256D:y"
    assert split_reply_to(topic) == ("usp/agents/cid:3AA3F8:x", "usp/controllers/oui:00256D:y")
    assert split_reply_to("usp/agent/x") == ("usp/agent/x", None)
    assert split_reply_to("a/reply-to=b%2fc%20d") == ("a", "b/c%20d")  # only %2F is decoded
    assert endpoint_after("usp/controller/os::0A0B0C-1", "usp/controller") == "os::0A0B0C-1"
    assert endpoint_after("usp/controller/a/b", "usp/controller") is None


def test_configuration_comes_from_the_environment_and_is_checked() -> None:
    config = load_usp_config(
        None,
        {
            "DOORSTEP_USP_MQTT_URL": "mqtt://ctl:p%40ss@broker.example:1884",
            "DOORSTEP_USP_REQUEST_TIMEOUT": "2.5",
            "DOORSTEP_USP_MQTT_CHECK_TOPIC_IDENTITY": "false",
        },
    )
    broker = config.broker
    assert (broker.host, broker.port, broker.username, broker.password) == (
        "broker.example",
        1884,
        "ctl",
        "p@ss",
    )
    assert config.request_timeout == 2.5 and config.mqtt_check_topic_identity is False
    assert "p@ss" not in repr(config.broker)
    for bad in (
        {"DOORSTEP_USP_CONTROLLER_ID": "not an id"},
        {"DOORSTEP_USP_MQTT_QOS": "2"},
        {"DOORSTEP_USP_MQTT_CONTROLLER_TOPIC": "usp/#"},
        {"DOORSTEP_USP_REQUEST_TIMEOUT": "soon"},
    ):
        with pytest.raises(ConfigurationError):
            load_usp_config(None, bad)


def test_the_simulated_data_model_follows_usp_set_semantics() -> None:
    model = DataModel(build_values(make_profile(7, "ABC")))
    ssid = "Device.WiFi.SSID.1."

    def set_(allow_partial: bool, *settings: ParamSetting, obj: str = ssid) -> SetResp | ErrorMsg:
        return model.set(Set((UpdateObject(obj, settings),), allow_partial))

    optional = set_(False, ParamSetting("SSID", "fine"), ParamSetting("Enable", "maybe"))
    assert isinstance(optional, SetResp)  # a non-required failure only reports
    assert model.values[ssid + "SSID"] == "fine"
    assert isinstance(set_(False, ParamSetting("SSID", "", required=True)), ErrorMsg)
    missing = set_(True, ParamSetting("SSID", "x", required=True), obj="Device.WiFi.SSID.9.")
    assert isinstance(missing, SetResp)
    assert missing.failures["Device.WiFi.SSID.9."].err_code == 7016
    wildcard = model.get(Get(("Device.WiFi.SSID.*.SSID",)))
    assert sorted(wildcard.values) == [ssid + "SSID", "Device.WiFi.SSID.2.SSID"]
    assert model.get(Get(("Device.Nothing.",))).failures == {"Device.Nothing.": 7026}
    hosts = model.instances(GetInstances(("Device.Hosts.Host.",)))
    assert hosts.instances == tuple(f"Device.Hosts.Host.{i}." for i in (1, 2, 3))
