"""Which declared systems are live in this installation: the ``requests_systems`` setting.

The pack declares what exists; the deployment names the systems Doorstep
actually reaches (decision 0033, addendum): their keys, or ``["*"]`` for every
declared one, empty by default because the reference pack's systems are
examples at loopback addresses.  Requests, consent withdrawals and the scan of
completion sources reach only these.
"""

from __future__ import annotations

from doorstep.privacy.datamap.pack import PolicyPack
from doorstep.privacy.datamap.systems import ConnectedSystem

#: The setting's value meaning "every declared system".
ALL = "*"


def live_systems(pack: PolicyPack, names: tuple[str, ...]) -> list[ConnectedSystem]:
    """The pack's systems named in ``names`` (the ``requests_systems`` setting), in order."""
    declared = pack.systems.systems
    if ALL in names:
        return list(declared.values())
    return [declared[name] for name in names if name in declared]
