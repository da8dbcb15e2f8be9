"""De-identification profiles: per destination, which kinds become pseudonyms and which go.

A profile comes from the pack's ``deidentification:`` section (read by
:mod:`doorstep.privacy.datamap.pack_deidentify`) or is built in code.  Every
kind the profile does not list under ``pseudonymise`` is dropped (replaced by
``[<kind> removed]``): nothing passes through in clear by omission.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from doorstep.privacy.deidentify.kinds import BUILTIN_PATTERNS, Kind


@dataclass(frozen=True)
class Profile:
    """What one destination may receive of each identifier kind."""

    name: str
    #: Kinds replaced by keyed pseudonyms; every other kind is dropped.
    pseudonymise: frozenset[Kind] = frozenset()
    #: Patterns the pack adds to a kind (its own serial-number formats, say).
    extra_patterns: Mapping[Kind, tuple[str, ...]] = field(
        default_factory=lambda: MappingProxyType({})
    )
    description: str = ""
    clauses: tuple[str, ...] = ()

    @property
    def dropped(self) -> frozenset[Kind]:
        """Kinds the destination never receives, not even as pseudonyms."""
        return frozenset(Kind) - self.pseudonymise

    def patterns(self) -> Iterator[tuple[Kind, int, str]]:
        """Every pattern with its kind and position in that kind's list (built-ins first)."""
        for kind in Kind:
            for index, pattern in enumerate(
                BUILTIN_PATTERNS[kind] + tuple(self.extra_patterns.get(kind, ()))
            ):
                yield kind, index, pattern


#: The profile used when a destination has none of its own: everything pseudonymised.
PSEUDONYMISE_ALL = Profile(name="pseudonymise_all", pseudonymise=frozenset(Kind))
