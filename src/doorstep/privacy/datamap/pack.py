"""The policy pack's data-map vocabulary: purposes, retention rules, regions, recipients.

A pack is a folder with a ``datamap.yaml``; Doorstep ships ``policy_pack/default``.
:func:`load_pack` parses and validates it and raises :class:`ConfigurationError`
naming the first offending key, so a bad pack stops start-up with a clear message.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import timedelta
from enum import StrEnum
from functools import cache
from pathlib import Path
from typing import Any

import yaml

from doorstep.core.errors import ConfigurationError
from doorstep.privacy.datamap.taxonomy import data_uses

DEFAULT_PACK = Path(__file__).resolve().parents[2] / "policy_pack" / "default"


class Trigger(StrEnum):
    """The events from which a retention period is counted."""

    CREATED = "created"
    SUBJECT_ERASED = "subject_erased"
    DEREGISTERED = "deregistered"
    DEVICE_OFFLINE = "device_offline"
    DEVICE_UNBOUND = "device_unbound"
    REQUEST_CLOSED = "request_closed"
    NOT_STORED = "not_stored"


@dataclass(frozen=True, slots=True)
class Purpose:
    """A purpose personal data may be used for, mapped to a fideslang data use."""

    key: str
    data_use: str
    description: str
    clauses: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class RetentionRule:
    """How long an element is kept: ``period`` after ``trigger``."""

    key: str
    trigger: Trigger
    period: timedelta
    description: str


@dataclass(frozen=True, slots=True)
class PolicyPack:
    """The parsed vocabulary of one pack."""

    path: Path
    purposes: dict[str, Purpose]
    retention: dict[str, RetentionRule]
    regions: dict[str, str]
    recipients: dict[str, str]


_DURATION = re.compile(
    r"^P(?:(?P<years>\d+)Y)?(?:(?P<months>\d+)M)?(?:(?P<weeks>\d+)W)?(?:(?P<days>\d+)D)?"
    r"(?:T(?:(?P<hours>\d+)H)?(?:(?P<minutes>\d+)M)?(?:(?P<seconds>\d+)S)?)?$"
)


def parse_period(text: str) -> timedelta:
    """Parse an ISO 8601 duration (``P2Y``, ``P30D``, ``PT1H``).

    Years count 365 days and months 30: retention periods are promises of
    "at most", and these are the conservative readings (decision 0004).
    """
    match = _DURATION.match(text.strip()) if isinstance(text, str) else None
    if not match or text.strip() in {"P", "PT"}:
        raise ConfigurationError(f"retention period {text!r} is not an ISO 8601 duration")
    parts = {name: int(value or 0) for name, value in match.groupdict().items()}
    return timedelta(
        days=parts["years"] * 365 + parts["months"] * 30 + parts["weeks"] * 7 + parts["days"],
        hours=parts["hours"],
        minutes=parts["minutes"],
        seconds=parts["seconds"],
    )


def _section(raw: dict[str, Any], name: str) -> dict[str, Any]:
    value = raw.get(name) or {}
    if not isinstance(value, dict):
        raise ConfigurationError(f"policy pack: '{name}' must be a mapping")
    return value


def load_pack(path: Path = DEFAULT_PACK) -> PolicyPack:
    """Read and validate ``path/datamap.yaml``."""
    source = path / "datamap.yaml"
    try:
        raw = yaml.safe_load(source.read_text(encoding="utf-8")) or {}
    except FileNotFoundError:
        raise ConfigurationError(f"policy pack: {source} does not exist") from None
    except yaml.YAMLError as exc:
        raise ConfigurationError(f"policy pack: {source} is not valid YAML ({exc})") from None
    purposes: dict[str, Purpose] = {}
    for key, spec in _section(raw, "purposes").items():
        use = spec.get("data_use")
        if use not in data_uses():
            raise ConfigurationError(f"policy pack: purpose {key!r} has unknown data_use {use!r}")
        purposes[key] = Purpose(
            key, use, spec.get("description", ""), tuple(spec.get("clauses", ()))
        )
    retention: dict[str, RetentionRule] = {}
    for key, spec in _section(raw, "retention").items():
        try:
            trigger = Trigger(spec.get("trigger"))
        except ValueError:
            raise ConfigurationError(
                f"policy pack: retention rule {key!r} has unknown trigger {spec.get('trigger')!r}"
            ) from None
        period = parse_period(str(spec.get("period", "")))
        retention[key] = RetentionRule(key, trigger, period, spec.get("description", ""))
    regions = {k: (v or {}).get("description", "") for k, v in _section(raw, "regions").items()}
    recipients = {
        k: (v or {}).get("description", "") for k, v in _section(raw, "recipients").items()
    }
    return PolicyPack(path, purposes, retention, regions, recipients)


@cache
def default_pack() -> PolicyPack:
    """The pack shipped with Doorstep, loaded once."""
    return load_pack(DEFAULT_PACK)
