"""Warnings about the processors that carry the outbox's channels (decision 0035).

A pack may be valid and still leave subscribers without messages: under
``transfers.deidentify: always`` everything that leaves the home country is
de-identified first, and an address cannot be, so a processor abroad that
carries a channel can deliver nothing to a subscriber at home (sign-up codes
included; sign-up is refused for them).  :func:`carrier_warnings` names each
such processor at its line; ``doorstep pack check`` prints them as
``FILE:LINE: warning: …`` and they do not change its exit status.

Contract: reads the pack folder only; a pack that does not load gives no
warning (its problems are :func:`~doorstep.packcheck.check.check_pack`'s).
"""

from __future__ import annotations

from pathlib import Path

from doorstep.core.errors import ConfigurationError
from doorstep.packcheck.texts import Problem
from doorstep.privacy.datamap.pack import DATAMAP_FILE, load_pack
from doorstep.privacy.datamap.pack_lines import line_of, load_yaml
from doorstep.privacy.transfers.policy import Deidentify, read_transfer_policy


def carrier_warnings(path: Path) -> list[Problem]:
    """Each processor abroad carrying a channel of a pack that de-identifies ``always``."""
    try:
        pack = load_pack(path)
        policy = read_transfer_policy(pack)
        raw = load_yaml(path / DATAMAP_FILE) or {}
    except ConfigurationError:
        return []
    if policy.deidentify is not Deidentify.ALWAYS:
        return []
    section = raw.get("recipients") if isinstance(raw, dict) else None
    return [
        Problem(
            DATAMAP_FILE,
            line_of(section, key),
            f"warning: recipients.{key} carries channel {recipient.channel!r} from "
            f"{recipient.country.upper()}, outside the home country {policy.home}, and "
            "transfers.deidentify is always: an address cannot be de-identified, so no "
            f"{recipient.channel} message reaches a subscriber at home and they cannot sign up",
        )
        for key, recipient in pack.sharing.items()
        if recipient.channel and recipient.country and recipient.country.upper() != policy.home
    ]
