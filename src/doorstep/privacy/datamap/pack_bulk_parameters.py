"""The pack's ``bulk_parameters:`` section: what a fleet action may set on many devices.

A bulk ``set_parameters`` operation (decision 0038) sets the same values on every
device of a group; it may name only parameters listed here, which must be device
settings that say nothing about a person::

    bulk_parameters:
      # purposes whose device paths reach personal data: no entry may fall under them
      personal_purposes: [device.internet_access, device.wireless_config, device.status_query]
      paths:
        - Device.Time.NTPServer1
        - Device.LocalAgent.Controller.{i}.PeriodicNotifInterval   # {i}: any instance

:func:`read_bulk_parameters` raises :class:`ConfigurationError` at the offending
key's line when a path is not a full TR-181 parameter path, when a listed purpose
is not declared, or when an entry falls under a ``usp_paths:`` prefix of one of the
``personal_purposes`` (a PPPoE password, a Wi-Fi key, a host name can never be set
in bulk).  The controller's per-path gate checks every request again at the wire.
A pack without the section allows no bulk parameter.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from doorstep.core.errors import ConfigurationError
from doorstep.privacy.datamap.pack_lines import at

SECTION = "bulk_parameters"
SECTION_FILE = "datamap.yaml"
INSTANCE = "{i}"
_NAME = r"[A-Za-z][A-Za-z0-9_-]*"
_PARAMETER = re.compile(rf"^Device\.(?:(?:{_NAME}|\{{i\}})\.)*{_NAME}$")


@dataclass(frozen=True, slots=True)
class BulkParameters:
    """The parameters a bulk action may set, and the purposes they were checked against."""

    paths: tuple[str, ...] = ()
    personal_purposes: tuple[str, ...] = ()

    def allows(self, path: str) -> bool:
        """Whether ``path`` (with instance numbers) is one of :attr:`paths`."""
        return any(_pattern(entry).fullmatch(path) for entry in self.paths)


def _pattern(entry: str) -> re.Pattern[str]:
    return re.compile(re.escape(entry).replace(re.escape(INSTANCE), r"[0-9]+"))


def read_bulk_parameters(
    raw: Mapping[str, Any],
    purposes: Mapping[str, object],
    usp_paths: Mapping[str, tuple[str, ...]],
) -> BulkParameters:
    """The ``bulk_parameters:`` section of ``raw``, validated (see the module docstring)."""
    section = raw.get(SECTION)
    if section is None:
        return BulkParameters()
    with at(SECTION_FILE, raw, SECTION):
        if not isinstance(section, dict):
            raise ConfigurationError(
                f"policy pack: '{SECTION}' must be a mapping with personal_purposes and paths"
            )
    personal = _strings(section, "personal_purposes")
    for purpose in personal:
        if purpose not in purposes:
            with at(SECTION_FILE, section, "personal_purposes"):
                raise ConfigurationError(
                    f"policy pack: {SECTION}.personal_purposes names undeclared purpose {purpose!r}"
                )
    paths = _strings(section, "paths")
    for path in paths:
        with at(SECTION_FILE, section, "paths"):
            if not _PARAMETER.fullmatch(path):
                raise ConfigurationError(
                    f"policy pack: {SECTION}: {path!r} is not a TR-181 parameter path "
                    "(Device.Object.{i}.Parameter)"
                )
            concrete = path.replace(INSTANCE, "1")
            for purpose in personal:
                for prefix in usp_paths.get(purpose, ()):
                    if concrete.startswith(prefix):
                        raise ConfigurationError(
                            f"policy pack: {SECTION}: {path!r} falls under {prefix!r}, a "
                            f"path of the personal purpose {purpose!r}"
                        )
    return BulkParameters(paths=paths, personal_purposes=personal)


def _strings(section: Mapping[str, Any], key: str) -> tuple[str, ...]:
    value = section.get(key, [])
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        with at(SECTION_FILE, section, key):
            raise ConfigurationError(f"policy pack: {SECTION}.{key} must be a list of strings")
    return tuple(value)
