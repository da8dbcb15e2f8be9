"""The data-map vocabulary: how a column says what it holds.

A kernel concept, like a column type: every area's models declare their columns
with ``info=personal(...)`` or ``info=not_personal(...)`` (:mod:`.declarations`),
each personal one with what exports show of it (:mod:`.export_decisions`).  It sits
at the bottom beside :mod:`doorstep.core` and imports nothing of Doorstep but the
standard library; :mod:`doorstep.privacy.datamap` keeps what is built on it (the
policy pack, the registry that collects and validates the map, the record of
processing and the exports).
"""

from doorstep.vocabulary.declarations import (
    LegalBasis,
    NotPersonal,
    PersonalData,
    not_personal,
    personal,
)
from doorstep.vocabulary.export_decisions import (
    VALUE,
    ExportAs,
    ExportDecision,
    described,
    omitted,
)

__all__ = [
    "VALUE",
    "ExportAs",
    "ExportDecision",
    "LegalBasis",
    "NotPersonal",
    "PersonalData",
    "described",
    "not_personal",
    "omitted",
    "personal",
]
