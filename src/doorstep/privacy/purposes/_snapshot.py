"""Load what the gate needs to know about one subject, in one query.

Three facts, one round trip: whether the subject exists, the latest consent
decision per purpose (the ``consent_state`` view) and the restrictions in force.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

import sqlalchemy as sa
from sqlalchemy.orm import Session

from doorstep.privacy.consent.models import ConsentAction
from doorstep.privacy.restrictions.models import RestrictionReason

_LOAD = sa.text(
    """
    SELECT 's' AS kind, NULL::text AS purpose, NULL::text AS state, NULL::uuid AS ref
      FROM subjects WHERE id = :subject
    UNION ALL
    SELECT 'c', purpose, action, event_id
      FROM consent_state WHERE subject_id = :subject
    UNION ALL
    SELECT 'r', purpose, reason::text, id
      FROM restrictions WHERE subject_id = :subject AND lifted_at IS NULL
    """
)


@dataclass(frozen=True, slots=True)
class Snapshot:
    """One subject's consents and restrictions at the start of a unit of work.

    ``decisions`` holds the latest consent action per purpose, ``grants`` the id
    of the grant event for each purpose whose latest action is a grant, and
    ``restrictions`` the reason of each restriction in force.
    """

    exists: bool
    decisions: Mapping[str, ConsentAction]
    grants: Mapping[str, uuid.UUID]
    restrictions: Mapping[str, RestrictionReason]

    @property
    def granted(self) -> frozenset[str]:
        """Purposes with a live consent."""
        return frozenset(self.grants)


def load_snapshot(session: Session, subject_id: uuid.UUID) -> Snapshot:
    """Read the subject's snapshot in one query."""
    exists = False
    decisions: dict[str, ConsentAction] = {}
    grants: dict[str, uuid.UUID] = {}
    restrictions: dict[str, RestrictionReason] = {}
    for kind, purpose, state, ref in session.execute(_LOAD, {"subject": subject_id}):
        if kind == "s":
            exists = True
        elif kind == "c":
            action = ConsentAction(state)
            decisions[purpose] = action
            if action is ConsentAction.GRANT:
                grants[purpose] = ref
        else:
            restrictions[purpose] = RestrictionReason(state)
    return Snapshot(
        exists=exists,
        decisions=MappingProxyType(decisions),
        grants=MappingProxyType(grants),
        restrictions=MappingProxyType(restrictions),
    )
