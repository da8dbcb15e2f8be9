"""Restrictions of processing (GDPR Art. 18, objections under Art. 21).

A subject's data is kept but not used for a purpose while a restriction is in
force (:mod:`.models`); :mod:`.services` puts one in force, lifts it and lists
them.  The purpose gate (:mod:`doorstep.privacy.purposes`) refuses every use the
restriction covers; the consent area shows which optional functions it turns
off.  Imports ``core``, ``audit`` and the data map only.
"""

from doorstep.privacy.restrictions.models import Restriction, RestrictionReason
from doorstep.privacy.restrictions.services import (
    RestrictionRecord,
    lift,
    restrict,
    restrictions_of,
)

__all__ = [
    "Restriction",
    "RestrictionReason",
    "RestrictionRecord",
    "lift",
    "restrict",
    "restrictions_of",
]
