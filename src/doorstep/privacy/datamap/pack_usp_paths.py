"""The pack's ``usp_paths:`` section: which TR-181 paths each purpose may reach on a device.

The USP controller refuses a request that names a path its purpose does not
declare (:mod:`doorstep.usp.paths`, decision 0028).  The section maps a declared
purpose to path prefixes; a path is allowed when one prefix starts it::

    usp_paths:
      device.registration:            # a purpose of the pack's purposes:
        - Device.DeviceInfo.          # an object: everything under it
        - Device.Boot!                # an event
      device.status_query:
        - Device.Hosts.Host.
      device.product_functions:
        - Device.Reboot()             # a command
      device.maintenance:
        - Device.DeviceInfo.SoftwareVersion   # a parameter (and any name it starts)

Prefixes are generic (no instance numbers): ``Device.WiFi.SSID.`` covers every
SSID instance.  :func:`read_usp_paths` raises :class:`ConfigurationError` at the
offending key's line (``datamap.yaml:42: …``): an undeclared purpose, a value
that is not a list of paths, a path that is not ``Device.…`` with names,
``.``, a final ``()``, ``!`` or parameter name.  A pack without the section lets the controller
reach no path at all.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

from doorstep.core.errors import ConfigurationError
from doorstep.privacy.datamap.pack_lines import at

SECTION = "usp_paths"
SECTION_FILE = "datamap.yaml"
_PATH = re.compile(r"^Device\.(?:[A-Za-z][A-Za-z0-9_-]*\.)*(?:[A-Za-z][A-Za-z0-9_-]*(?:\(\)|!)?)?$")


def read_usp_paths(
    raw: Mapping[str, Any], purposes: Mapping[str, object]
) -> Mapping[str, tuple[str, ...]]:
    """The ``usp_paths:`` section of ``raw`` (``{purpose: prefixes}``), validated."""
    section = raw.get(SECTION) or {}
    if not isinstance(section, dict):
        with at(SECTION_FILE, raw, SECTION):
            raise ConfigurationError(f"policy pack: '{SECTION}' must be a mapping")
    found: dict[str, tuple[str, ...]] = {}
    for purpose, paths in section.items():
        with at(SECTION_FILE, section, purpose):
            if purpose not in purposes:
                raise ConfigurationError(
                    f"policy pack: {SECTION} names undeclared purpose {purpose!r}"
                )
            if not isinstance(paths, list) or not all(isinstance(p, str) for p in paths):
                raise ConfigurationError(
                    f"policy pack: {SECTION}.{purpose} must be a list of TR-181 paths"
                )
            for path in paths:
                if not _PATH.fullmatch(path):
                    raise ConfigurationError(
                        f"policy pack: {SECTION}.{purpose}: {path!r} is not a TR-181 path "
                        "prefix (Device.Object. , Device.Command(), Device.Event! or "
                        "Device.Parameter)"
                    )
            found[str(purpose)] = tuple(paths)
    return MappingProxyType(found)
