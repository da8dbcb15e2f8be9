"""HTTP API of policy versions, the notices of a major change and publishing.

Public (no sign-in; CPE-VII.2, CPE-VII.5, CORP-8.1):

* ``GET /api/v1/policy`` — the version in force, or ``?version=ID``, or the one in
  force ``?at=`` an instant, with its summary, classified changes and texts;
* ``GET /api/v1/policy/versions`` — every version (the history), oldest first.

The signed-in subscriber (CPE-VII.1, CPE-VII.3):

* ``GET /api/v1/policy/notices`` — versions waiting for their answer, until they answer;
* ``POST /api/v1/policy/notices/{version_id}`` — ``{"accept": true|false}``.

Staff with ``publish_policy``:

* ``POST /api/v1/console/policy/preview`` — a pack folder's classified differences;
* ``POST /api/v1/console/policy/versions`` — publish it (the same rules as the CLI).
"""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Query
from fastapi import Path as PathParam
from pydantic import BaseModel, ConfigDict, Field

from doorstep.accounts.auth import CurrentSubscriber
from doorstep.core.errors import InvalidInputError, NotFoundError
from doorstep.core.problems import problem_responses
from doorstep.privacy.changes import publish as publishing
from doorstep.privacy.changes.notices import open_notices, respond
from doorstep.privacy.policies import versions
from doorstep.privacy.policies.classify import Change
from doorstep.services import Services, ServicesDep, SessionDep
from doorstep.staff.auth import CurrentStaff
from doorstep.staff.permissions import StaffAction
from doorstep.staff.services import require_action

router = APIRouter(tags=["policy"])


class PolicyChangeOut(BaseModel):
    """One classified difference from the version before."""

    area: str
    key: str
    kind: str
    before: str
    after: str
    major: bool
    trigger: str | None = Field(description="The major-change trigger it touches (None: minor).")
    reduces_rights: bool
    needs_consent: bool
    description: str


class PolicyVersionSummary(BaseModel):
    """A version without its texts (the history)."""

    id: str
    effective_at: datetime
    published_at: datetime
    summary: str
    major: bool
    classified_major: bool
    minor_reason: str | None = Field(
        description="Why the publisher treated a change the classifier calls major as minor."
    )
    requires_acceptance: bool


class PolicyVersionOut(PolicyVersionSummary):
    """A version with its classified changes and its texts (by file name)."""

    changes: list[PolicyChangeOut]
    texts: dict[str, str]


def _change(change: Change) -> PolicyChangeOut:
    return PolicyChangeOut(
        area=change.area,
        key=change.key,
        kind=change.kind,
        before=change.before,
        after=change.after,
        major=change.major,
        trigger=change.trigger,
        reduces_rights=change.reduces_rights,
        needs_consent=change.needs_consent,
        description=change.describe(),
    )


def _summary(version: versions.Version) -> PolicyVersionSummary:
    return PolicyVersionSummary(
        id=version.id,
        effective_at=version.effective_at,
        published_at=version.published_at,
        summary=version.summary,
        major=version.major,
        classified_major=version.classified_major,
        minor_reason=version.minor_reason,
        requires_acceptance=version.requires_acceptance,
    )


def version_out(version: versions.Version) -> PolicyVersionOut:
    """The API view of a stored version."""
    return PolicyVersionOut(
        **_summary(version).model_dump(),
        changes=[_change(change) for change in version.changes],
        texts=version.documents,
    )


def find_version(
    session: SessionDep, services: Services, version_id: str | None, at: datetime | None
) -> versions.Version:
    """The version by id, or in force at ``at`` (now when neither is given); NotFoundError."""
    clock = services.runtime.clock
    versions.ensure_initial(session, services.pack, services.terms, clock)
    if version_id is not None and at is not None:
        raise InvalidInputError(
            "give a version or an instant, not both",
            errors=[{"field": "at", "rule": "version_or_at"}],
        )
    if version_id is not None:
        found = versions.get(session, version_id)
    else:
        when = at if at is not None else clock.now()
        if when.tzinfo is None:
            raise InvalidInputError(
                "the instant needs a time zone", errors=[{"field": "at", "rule": "timezone"}]
            )
        found = versions.in_force(session, when)
    if found is None:
        raise NotFoundError("no such policy version")
    return found


@router.get(
    "/api/v1/policy",
    summary="The privacy policy in force, or a version by id or by date",
    responses=problem_responses(404),
)
def get_policy(
    services: ServicesDep,
    session: SessionDep,
    version: Annotated[str | None, Query(max_length=64)] = None,
    at: Annotated[datetime | None, Query(description="In force at this instant.")] = None,
) -> PolicyVersionOut:
    """The version in force now, the version ``version``, or the one in force ``at`` (CPE-VII.5)."""
    return version_out(find_version(session, services, version, at))


@router.get("/api/v1/policy/versions", summary="Every version of the privacy policy")
def list_versions(services: ServicesDep, session: SessionDep) -> list[PolicyVersionSummary]:
    """The history, oldest effective date first."""
    versions.ensure_initial(session, services.pack, services.terms, services.runtime.clock)
    return [_summary(item) for item in versions.all_versions(session)]


class PolicyNoticeOut(BaseModel):
    """A version waiting for the subscriber's answer, with the specific changes."""

    version: PolicyVersionSummary
    changes: list[PolicyChangeOut]


class PolicyAnswerIn(BaseModel):
    """The subscriber's answer to a version that needs acceptance."""

    model_config = ConfigDict(extra="forbid")

    accept: bool


class PolicyAnswerOut(BaseModel):
    """What the answer led to."""

    version_id: str
    accepted: bool
    governing: str = Field(description="The version that governs the subscriber now.")
    offer_deregistration: bool = Field(
        description="The policy offers deregistration to those who refuse."
    )


@router.get("/api/v1/policy/notices", summary="Policy changes waiting for your answer")
def list_notices(
    subscriber: CurrentSubscriber, services: ServicesDep, session: SessionDep
) -> list[PolicyNoticeOut]:
    """Each major version that needs your acceptance and that you have not answered."""
    return [
        PolicyNoticeOut(
            version=_summary(item), changes=[_change(change) for change in item.changes]
        )
        for item in open_notices(session, services, subscriber.subject_id)
    ]


@router.post(
    "/api/v1/policy/notices/{version_id}",
    summary="Accept or refuse a policy change",
    responses=problem_responses(404, 409),
)
def answer_notice(
    version_id: Annotated[str, PathParam(max_length=64)],
    body: PolicyAnswerIn,
    subscriber: CurrentSubscriber,
    services: ServicesDep,
    session: SessionDep,
) -> PolicyAnswerOut:
    """Until you accept, the version you accepted before governs your data (CPE-VII.1)."""
    outcome = respond(
        session, services, subscriber.subject_id, version_id, accept=body.accept, channel="app"
    )
    return PolicyAnswerOut(
        version_id=outcome.version_id,
        accepted=outcome.accepted,
        governing=outcome.governing,
        offer_deregistration=outcome.offer_deregistration,
    )


class PolicyPreviewIn(BaseModel):
    """A policy pack folder on the server."""

    model_config = ConfigDict(extra="forbid")

    folder: str = Field(max_length=4096)


class PolicyPublishIn(PolicyPreviewIn):
    """A new version: the pack folder, its id, effective date, summary and marking."""

    version: str = Field(max_length=64)
    effective: date
    summary: str = Field(max_length=4000)
    marking: publishing.Marking = publishing.Marking.AUTO
    minor_reason: str | None = Field(default=None, max_length=2000)


class PolicyPreviewOut(BaseModel):
    """The classified differences from the newest version."""

    base: str
    major: bool
    requires_acceptance: bool
    triggers: list[str]
    changes: list[PolicyChangeOut]


@router.post(
    "/api/v1/console/policy/preview",
    tags=["console"],
    summary="Classify a proposed policy version",
    responses=problem_responses(403),
)
def preview_version(
    body: PolicyPreviewIn, staff: CurrentStaff, services: ServicesDep, session: SessionDep
) -> PolicyPreviewOut:
    """Check the pack and classify each difference against the major-change triggers."""
    require_action(session, staff.id, StaffAction.PUBLISH_POLICY)
    found = publishing.preview(session, services, Path(body.folder))
    return PolicyPreviewOut(
        base=found.base.id,
        major=found.classification.major,
        requires_acceptance=found.classification.requires_acceptance,
        triggers=list(found.classification.triggers),
        changes=[_change(change) for change in found.classification.changes],
    )


@router.post(
    "/api/v1/console/policy/versions",
    tags=["console"],
    status_code=201,
    summary="Publish a new policy version",
    responses=problem_responses(403, 409),
)
def publish_version(
    body: PolicyPublishIn, staff: CurrentStaff, services: ServicesDep, session: SessionDep
) -> PolicyVersionOut:
    """Validate, classify and store the version; a major one notifies every subscriber."""
    actor = require_action(session, staff.id, StaffAction.PUBLISH_POLICY).actor
    version = publishing.publish(
        session,
        services,
        publishing.Proposal(
            folder=Path(body.folder),
            version_id=body.version,
            effective=body.effective,
            summary=body.summary,
            marking=body.marking,
            minor_reason=body.minor_reason,
        ),
        actor=actor,
    )
    return version_out(version)
