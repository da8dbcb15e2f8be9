"""The notice told to the affected subjects: five parts, per language (CPE-IV.7.a).

The desk writes the notice once per language (:func:`set_notice`); every part
may be left blank while it is a draft, but a notice with any part blank cannot
be sent (:func:`require_complete`, decision 0018): the refusal names the first
missing part (``self_protection_advice``, rule ``required``).  English is
required (the language of subscribers whose own has no text); each subscriber
gets the text in their account's language when the desk wrote one, otherwise
the English one, framed by the template of :mod:`doorstep.notify.catalogue`
in their language.  Once notices went out the text is fixed: the record must
show what was sent.  The text is about the incident, written for everyone: it
must name no one (the console says so).
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping

import sqlalchemy as sa
from sqlalchemy.orm import Session

from doorstep.core.errors import ConflictError, InvalidInputError
from doorstep.locale import SOURCE, available
from doorstep.notify.templates import MAX_PARAM_LENGTH
from doorstep.privacy.incidents.context import IncidentContext
from doorstep.privacy.incidents.models import NOTICE_PARTS, Incident, Notice, Risk
from doorstep.privacy.incidents.services import audit, get

#: The longest part: the template's parameter limit, with room to spare.
MAX_PART = MAX_PARAM_LENGTH - 200
NOTICE = "incident.notice"
NOTICE_SIGNIFICANT = "incident.notice_significant"


def set_notice(
    session: Session,
    ctx: IncidentContext,
    incident_id: uuid.UUID,
    parts: Mapping[str, str | None],
    *,
    actor: str,
    locale: str = SOURCE,
) -> Notice:
    """Write (or rewrite) the notice in ``locale``; parts not given keep their text.

    InvalidInputError for an unknown language or part or a part too long;
    ConflictError once notices went out.
    """
    if locale not in available():
        raise InvalidInputError(
            "Doorstep has no such language", errors=[{"field": "locale", "rule": "available"}]
        )
    for name, value in parts.items():
        if name not in NOTICE_PARTS:
            raise InvalidInputError(
                "a notice has no such part",
                errors=[{"field": str(name)[:64], "rule": "unexpected"}],
            )
        if value is not None and len(value) > MAX_PART:
            raise InvalidInputError(
                "the part is too long", errors=[{"field": name, "rule": "max_length"}]
            )
    incident = get(session, incident_id, lock=True)
    if incident.notify_started_at is not None:
        raise ConflictError(
            "notices went out: the text that was sent cannot change", incident=str(incident.id)
        )
    notice = session.get(Notice, (incident.id, locale))
    if notice is None:
        notice = Notice(incident_id=incident.id, locale=locale, **dict.fromkeys(NOTICE_PARTS, ""))
        session.add(notice)
    for name, value in parts.items():
        if value is not None:
            setattr(notice, name, value.strip())
    notice.set_at = ctx.clock.now()
    session.flush()
    audit(
        session,
        incident.id,
        "notice_set",
        actor,
        locale=locale,
        complete=not missing_parts(notice),
    )
    return notice


def missing_parts(notice: Notice | None) -> list[str]:
    """The parts of ``notice`` that are blank (all of them when there is none)."""
    if notice is None:
        return list(NOTICE_PARTS)
    return [name for name in NOTICE_PARTS if not str(getattr(notice, name) or "").strip()]


def notices(session: Session, incident_id: uuid.UUID) -> dict[str, Notice]:
    """The incident's notices by language."""
    rows = session.execute(sa.select(Notice).where(Notice.incident_id == incident_id)).scalars()
    return {row.locale: row for row in rows}


def require_complete(session: Session, incident: Incident) -> dict[str, Notice]:
    """The notices by language, if the English one and every other one has all five parts.

    InvalidInputError names the first missing part and the language
    (``{"field": "self_protection_advice", "rule": "required", "locale": "en"}``).
    """
    found = notices(session, incident.id)
    for locale in [SOURCE, *sorted(set(found) - {SOURCE})]:
        missing = missing_parts(found.get(locale))
        if missing:
            raise InvalidInputError(
                "the notice lacks a part it must have (CPE-IV.7.a); nothing was sent",
                errors=[{"field": missing[0], "rule": "required", "locale": locale}],
            )
    return found


def template_of(incident: Incident) -> str:
    """The template of the incident's rating: significant risk has the urgent words."""
    return NOTICE_SIGNIFICANT if incident.risk == Risk.SIGNIFICANT.value else NOTICE


def params_of(found: Mapping[str, Notice], incident: Incident, language: str) -> dict[str, str]:
    """The template's parameters in ``language`` (the English text when none is written)."""
    notice = found.get(language) or found[SOURCE]
    values = {name: str(getattr(notice, name)) for name in NOTICE_PARTS}
    return {"reference": str(incident.id), **values}
