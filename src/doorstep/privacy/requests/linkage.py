"""How each personal table links to its subject: see :mod:`doorstep.privacy.subjects.linkage`.

The linkage moved below the subjects so that legal holds (and through them the
retention sweeps), which sit below this package, can ask "whose row is this?"
too; this module keeps the names the requests area and its tests import.
"""

from __future__ import annotations

from doorstep.privacy.subjects.linkage import (
    DECLARED,
    LINK_KEY,
    PSEUDONYMOUS_ID,
    Direct,
    Link,
    Through,
    Unlinkable,
    link_of,
    personal_columns,
    personal_tables,
    rows_of,
    unlinked,
)

__all__ = [
    "DECLARED",
    "LINK_KEY",
    "PSEUDONYMOUS_ID",
    "Direct",
    "Link",
    "Through",
    "Unlinkable",
    "link_of",
    "personal_columns",
    "personal_tables",
    "rows_of",
    "unlinked",
]
