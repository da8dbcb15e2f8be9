"""The ``system_urls`` setting: an installation's url for a system the pack declares.

The pack declares every connected system and its url (:mod:`.systems`); an
operator (or the demo, whose servers live on its own ports and sockets) may
point a declared system elsewhere with the ``system_urls`` setting.  It never
adds a system: an unknown key, a manual system or a url the pack itself would
refuse (no password, the kind's scheme) is a :class:`ConfigurationError`
naming the setting, so a connector still reaches only configured addresses.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace

from doorstep.core.errors import ConfigurationError
from doorstep.privacy.datamap.pack import PolicyPack
from doorstep.privacy.datamap.system_entries import SystemKind, _url


def with_urls(pack: PolicyPack, urls: Mapping[str, str]) -> PolicyPack:
    """``pack`` with the systems of ``urls`` reached at those urls (checked as declared)."""
    if not urls:
        return pack
    systems = dict(pack.systems.systems)
    for key, url in urls.items():
        system = systems.get(key)
        if system is None or system.kind is SystemKind.MANUAL:
            raise ConfigurationError(
                f"DOORSTEP_SYSTEM_URLS (system_urls): {key!r} is not a declared sql or http system"
            )
        try:
            checked = _url(key, system.kind, {"url": url})
        except ConfigurationError as exc:
            raise ConfigurationError(f"DOORSTEP_SYSTEM_URLS (system_urls): {exc}") from None
        systems[key] = replace(system, url=checked)
    return replace(pack, systems=replace(pack.systems, systems=systems))
