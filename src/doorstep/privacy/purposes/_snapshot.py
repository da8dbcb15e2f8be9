"""Load what the gate needs to know about one subject, in one query.

Four facts, one round trip: whether the subject exists, the latest consent
decision per purpose (the ``consent_state`` view), the restrictions in force,
and the policy versions in force with the ones the subject acknowledged or
accepted, from which :func:`~doorstep.privacy.policies.answers.governing_id`
finds the version that governs the subject (CPE-VII.1).  With no version
stored (or only one in force) nothing is withheld.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from types import MappingProxyType

import sqlalchemy as sa
from sqlalchemy.orm import Session

from doorstep.core.database import CLOCK_KEY
from doorstep.privacy.consent.models import ConsentAction
from doorstep.privacy.policies.answers import VersionStep, governing_id
from doorstep.privacy.restrictions.models import RestrictionReason

_LOAD = sa.text(
    """
    SELECT 's' AS kind, NULL::text AS purpose, NULL::text AS state, NULL::uuid AS ref,
           NULL::timestamptz AS at, NULL::text[] AS purposes
      FROM subjects WHERE id = :subject
    UNION ALL
    SELECT 'c', purpose, action, event_id, NULL, NULL
      FROM consent_state WHERE subject_id = :subject
    UNION ALL
    SELECT 'r', purpose, reason::text, id, NULL, NULL
      FROM restrictions WHERE subject_id = :subject AND lifted_at IS NULL
    UNION ALL
    SELECT 'a', version_id, NULL, NULL, NULL, NULL
      FROM policy_acceptances WHERE subject_id = :subject AND kind <> 'refuse'
    UNION ALL
    SELECT 'v', id, CASE WHEN requires_acceptance THEN 'r' ELSE 'n' END, NULL,
           effective_at, ARRAY(SELECT jsonb_object_keys(facts -> 'purposes'))
      FROM policy_versions
     WHERE effective_at <= coalesce(CAST(:now AS timestamptz), now())
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
    #: The version that governs the subject, when it is not the newest in force.
    governing_version: str | None = None
    #: The purposes that version allows, when it is not the newest in force (else None).
    governing_purposes: frozenset[str] | None = None

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
    accepted: set[str] = set()
    in_force: list[tuple[datetime, str, bool, frozenset[str]]] = []
    clock = session.info.get(CLOCK_KEY)
    now = clock.now() if clock is not None else None
    for kind, purpose, state, ref, at, purposes in session.execute(
        _LOAD, {"subject": subject_id, "now": now}
    ):
        if kind == "a":
            accepted.add(purpose)
        elif kind == "v":
            in_force.append((at, purpose, state == "r", frozenset(purposes or ())))
        elif kind == "s":
            exists = True
        elif kind == "c":
            action = ConsentAction(state)
            decisions[purpose] = action
            if action is ConsentAction.GRANT:
                grants[purpose] = ref
        else:
            restrictions[purpose] = RestrictionReason(state)
    governing, allowed = _governing(in_force, accepted)
    return Snapshot(
        exists=exists,
        decisions=MappingProxyType(decisions),
        grants=MappingProxyType(grants),
        restrictions=MappingProxyType(restrictions),
        governing_version=governing,
        governing_purposes=allowed,
    )


def _governing(
    in_force: list[tuple[datetime, str, bool, frozenset[str]]], accepted: set[str]
) -> tuple[str | None, frozenset[str] | None]:
    """The governing version and its purposes, when it is not the newest in force."""
    if len(in_force) < 2:
        return None, None
    in_force.sort(key=lambda item: item[0])
    found = governing_id([VersionStep(item[1], item[2]) for item in in_force], accepted)
    if found is None or found == in_force[-1][1]:
        return None, None
    return found, next(item[3] for item in in_force if item[1] == found)
