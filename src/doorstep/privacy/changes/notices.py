"""The notice a subscriber sees until they answer a version that needs acceptance.

:func:`open_notices` lists the versions waiting for the subscriber's answer,
each with its specific changes (the privacy center's banner and the app API's
``GET /api/v1/policy/notices``).  :func:`respond` records an acceptance or a
refusal (CPE-VII.1): accepting makes the version govern the subscriber once it
is in force; refusing keeps the version they accepted before governing them,
and where the new version's pack says ``on_refusal: offer_deregistration`` the
answer offers deregistration (the privacy center links to it; nothing is closed
by the refusal itself).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from sqlalchemy.orm import Session

from doorstep.privacy.policies import answers, versions
from doorstep.privacy.policies.facts import OFFER_DEREGISTRATION
from doorstep.privacy.policies.models import AnswerChannel
from doorstep.services import Services


def policy_of(services: Services) -> answers.Policy:
    """The pack in force and its terms, as the policy services take them."""
    return answers.Policy(services.pack, services.terms)


@dataclass(frozen=True, slots=True)
class Outcome:
    """What an answer leads to: the version that now governs, and any offer."""

    version_id: str
    accepted: bool
    governing: str
    offer_deregistration: bool


def open_notices(
    session: Session, services: Services, subject_id: uuid.UUID
) -> list[versions.Version]:
    """The versions waiting for the subscriber's answer, oldest first."""
    return answers.pending(
        session, subject_id, policy=policy_of(services), clock=services.runtime.clock
    )


def respond(
    session: Session,
    services: Services,
    subject_id: uuid.UUID,
    version_id: str,
    *,
    accept: bool,
    channel: AnswerChannel | str,
) -> Outcome:
    """Accept or refuse ``version_id`` (see :func:`doorstep.privacy.policies.answers.answer`)."""
    clock = services.runtime.clock
    answers.answer(
        session,
        subject_id=subject_id,
        version_id=version_id,
        accept=accept,
        channel=channel,
        clock=clock,
    )
    version = versions.get(session, version_id)
    assert version is not None
    governing = answers.governing(session, subject_id, policy=policy_of(services), clock=clock)
    return Outcome(
        version_id=version_id,
        accepted=accept,
        governing=governing.id,
        offer_deregistration=not accept and version.facts.on_refusal == OFFER_DEREGISTRATION,
    )
