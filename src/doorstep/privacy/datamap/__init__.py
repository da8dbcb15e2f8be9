"""The data map: every column that can hold personal data declares what it is.

Columns declare with ``info=personal(...)`` or ``info=not_personal(...)``
(:mod:`.declarations`); the vocabulary they use (purposes, retention rules,
regions, recipients) comes from the policy pack (:mod:`.pack`); categories and
subjects come from the fideslang taxonomy (:mod:`.taxonomy`).  :mod:`.registry`
collects and validates the whole map.
"""

from doorstep.privacy.datamap.declarations import (
    LegalBasis,
    NotPersonal,
    PersonalData,
    not_personal,
    personal,
)

__all__ = ["LegalBasis", "NotPersonal", "PersonalData", "not_personal", "personal"]
