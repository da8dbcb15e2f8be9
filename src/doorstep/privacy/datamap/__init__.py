"""The data map: every column that can hold personal data declares what it is.

Columns declare with ``info=personal(...)`` or ``info=not_personal(...)``
(:mod:`.declarations`), each personal one with what exports show of it
(:mod:`.export_decisions`); the vocabulary they use (purposes, retention rules,
regions, recipients) comes from the policy pack (:mod:`.pack`); categories and
subjects come from the fideslang taxonomy (:mod:`.taxonomy`).  :mod:`.registry`
collects and validates the whole map.

Generated from it, never written by hand (``doorstep datamap …``, :mod:`.cli`):
the record of processing (:mod:`.ropa`, :mod:`.ropa_formats`), the fideslang
export (:mod:`.fides`) and the notice's "what we collect and why" (:mod:`.notice`).
"""

from doorstep.privacy.datamap.declarations import (
    LegalBasis,
    NotPersonal,
    PersonalData,
    not_personal,
    personal,
)
from doorstep.privacy.datamap.export_decisions import (
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
