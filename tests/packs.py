"""The reference pack, its consent terms and its purpose gate, for tests that mean them.

Production code never loads the reference pack by itself: the composition root
loads the pack the ``policy_pack`` setting chooses (``Services.pack``,
``Services.terms``, ``Services.gate``).  Tests that call an area's functions
directly hand them these, built once, exactly as a caller hands down the pack in force.
"""

from __future__ import annotations

from functools import cache

from doorstep.privacy.consent.terms import ConsentTerms, load_terms
from doorstep.privacy.datamap.pack import PolicyPack, default_pack
from doorstep.privacy.purposes import PurposeGate

__all__ = ["reference_gate", "reference_pack", "reference_terms"]


def reference_pack() -> PolicyPack:
    """The reference pack shipped in ``policy_pack/default`` (loaded once)."""
    return default_pack()


@cache
def reference_terms() -> ConsentTerms:
    """The consent terms of the reference pack (loaded once)."""
    return load_terms(default_pack())


@cache
def reference_gate() -> PurposeGate:
    """The purpose gate of the whole schema and the reference pack (built once)."""
    from doorstep.schema import metadata

    return PurposeGate.from_datamap(metadata, default_pack(), reference_terms())
