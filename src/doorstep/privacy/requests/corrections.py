"""Corrections (CPE-V.2.b, CORP-4.2): a reviewed request that writes one element's new value.

Only the password is edited directly by the subscriber (CPE-V.2.a); every other
correction is a request naming a data-map element (``table.column``) and the
value it should hold.  The value is checked and normalised at intake, stored
encrypted with the subject's key (``subject_requests.new_value``), and written
when the privacy desk approves the request, through the purpose gate
(``privacy.rights``), in the transaction that completes it; every recipient
the element was disclosed to is asked to correct its copy (CPE-V.2.b).  The request keeps
a keyed hash of the value it replaced (``old_value_hash``): proof of what
changed that shows nothing.

Which elements may be corrected, and how their values are checked, is
:data:`CORRECTABLE`; each must be a personal column linked directly to its
subject (:func:`validate_correctable` runs at start-up).
"""

from __future__ import annotations

import hashlib
import hmac
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from doorstep.accounts.account.identifiers import Checked, normalise_email, normalise_phone
from doorstep.audit.services import record
from doorstep.core.errors import ConfigurationError, ConflictError, InvalidInputError
from doorstep.core.settings import Settings
from doorstep.privacy.requests.linkage import Direct, link_of
from doorstep.privacy.requests.models import SubjectRequest
from doorstep.privacy.sharing.models import NoticeKind
from doorstep.privacy.sharing.services import disclosed_recipients, notify_recipients
from doorstep.vocabulary.declarations import INFO_KEY, PersonalData

if TYPE_CHECKING:
    from doorstep.privacy.requests.context import RequestContext

CONTEXT = "subject_requests.new_value"
AUDIT_PURPOSE = "privacy.rights"


@dataclass(frozen=True, slots=True)
class Correctable:
    """How one element's new value is checked, and which column records its proof."""

    normalise: Callable[[str, Settings], Checked]
    #: A timestamp column set to the instant of the correction (the desk verified the value).
    verified_column: str | None = None


CORRECTABLE: Mapping[str, Correctable] = {
    "accounts.email": Correctable(lambda raw, _: normalise_email(raw), "email_verified_at"),
    "accounts.phone": Correctable(
        lambda raw, settings: normalise_phone(raw, default_region=settings.phone_default_region),
        "phone_verified_at",
    ),
}


def check(settings: Settings, element: str | None, value: str | None) -> tuple[str, str]:
    """``(element, normalised value)`` of a correction, or InvalidInputError naming the rule."""
    if element is None or element not in CORRECTABLE:
        raise InvalidInputError.of(
            "element", "correctable", "this element cannot be corrected by request"
        )
    checked = CORRECTABLE[element].normalise(value or "", settings)
    if checked.value is None:
        raise InvalidInputError.of("value", checked.rule or "format", "the new value is not valid")
    return element, checked.value


def _column(metadata: sa.MetaData, element: str) -> tuple[sa.Table, sa.Column[object]]:
    table_name, _, column_name = element.partition(".")
    table = metadata.tables[table_name]
    return table, table.c[column_name]


def validate_correctable(metadata: sa.MetaData) -> None:
    """Every correctable element is a personal column with a direct link (start-up check)."""
    for element, spec in CORRECTABLE.items():
        table_name, _, column_name = element.partition(".")
        table = metadata.tables.get(table_name)
        column = table.c.get(column_name) if table is not None else None
        if table is None or column is None:
            raise ConfigurationError(f"correctable element {element} is not in the schema")
        if not isinstance(column.info.get(INFO_KEY), PersonalData):
            raise ConfigurationError(f"correctable element {element} is not personal data")
        if not isinstance(link_of(table), Direct):
            raise ConfigurationError(f"correctable element {element} has no direct subject link")
        if spec.verified_column is not None and spec.verified_column not in table.c:
            raise ConfigurationError(f"{element}: no column {spec.verified_column}")


def _old_value_hash(ctx: RequestContext, request_id: uuid.UUID, value: object) -> bytes:
    secret = ctx.settings.secret_key.get_secret_value().encode("utf-8")
    key = hmac.new(secret, b"doorstep.requests.correction", hashlib.sha256).digest()
    text = "" if value is None else str(value)
    return hmac.new(key, request_id.bytes + text.encode("utf-8"), hashlib.sha256).digest()


def apply(session: Session, ctx: RequestContext, row: SubjectRequest, *, actor: str) -> None:
    """Write the approved value (the caller completes the request in the same transaction).

    Raises ConflictError when the subject has no such record, or when another
    account already holds the value (a sign-in identifier is unique).
    """
    from doorstep.core.models import schema_metadata

    metadata = schema_metadata()

    if row.element is None or row.new_value is None:
        raise ConflictError("the correction names no element or value", reason="incomplete")
    keys = ctx.require_services().keys
    value = keys.decrypt(session, row.subject_id, row.new_value, context=CONTEXT).decode("utf-8")
    table, column = _column(metadata, row.element)
    link = link_of(table)
    assert isinstance(link, Direct)  # validate_correctable
    where = table.c[link.column] == row.subject_id
    ctx.gate.for_subject(session, row.subject_id, actor=actor).check(
        row.element, AUDIT_PURPOSE, audit=True, details={"request": str(row.id)}
    )
    current = session.execute(sa.select(column).where(where).with_for_update()).one_or_none()
    if current is None:
        raise ConflictError("the subject has no record to correct", reason="nothing_to_correct")
    values: dict[str, object] = {column.name: value}
    spec = CORRECTABLE[row.element]
    if spec.verified_column is not None:
        values[spec.verified_column] = ctx.clock.now()
    try:
        with session.begin_nested():
            session.execute(sa.update(table).where(where).values(values))
    except IntegrityError:
        raise ConflictError(
            "another account already holds this value", reason="value_taken"
        ) from None
    row.old_value_hash = _old_value_hash(ctx, row.id, current[0])
    session.flush()
    record(
        session,
        action="request.corrected",
        actor=actor,
        subject_id=row.subject_id,
        purpose=AUDIT_PURPOSE,
        element=row.element,
        details={"request": str(row.id)},
    )
    notify_recipients(
        session,
        subject_id=row.subject_id,
        request_id=row.id,
        kind=NoticeKind.CORRECTION,
        recipients=disclosed_recipients(session, row.subject_id, element=row.element),
        pack=ctx.policy,
        clock=ctx.clock,
        actor=actor,
    )
