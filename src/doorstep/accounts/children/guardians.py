"""Children: the age gate, the guardian's verifiable consent, and the deletion sweep.

* **Age gate** (CPE-VI.1, VI.2): sign-up takes a date of birth or a declared
  age (neither is stored).  Under the child age (``child_age_default``, 14,
  raised per region of the mobile number by ``child_age_by_region``: the higher
  age wins) the account is a child's: only ``accounts.child_until`` is kept,
  the day the subscriber stops being a child (for a declared age, the latest
  day it can be).
* **Guardian consent** (CPE-VI.1, CORP-6.1): the child names a guardian's
  e-mail address; the guardian becomes a subject of their own and gets a link
  with a signed, single-use token.  Their answer is a consent-ledger event
  (purpose ``account.guardian_consent``, channel ``email``, actor the guardian)
  on the child's subject.  Until a grant the account is ``awaiting_guardian``:
  it cannot sign in, and the purpose gate refuses every use of the child's data
  under ``account.guardian_consent`` (CPE-VI.3).
* **Sweep** (CPE-VI.4): a child's account without consent ``guardian_consent_days``
  after sign-up is deregistered and its data erased (:mod:`doorstep.accounts.deregistration`).
"""

from __future__ import annotations

import hashlib
import secrets
import uuid
from dataclasses import dataclass
from datetime import date, datetime, timedelta

import sqlalchemy as sa
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import OctKey
from sqlalchemy.orm import Session

from doorstep.accounts.account.identifiers import phone_region
from doorstep.accounts.account.models import Account, AccountStatus
from doorstep.accounts.children.models import Guardian
from doorstep.accounts.context import AccountContext
from doorstep.audit.entries import subject_actor, system_actor
from doorstep.core.errors import InvalidInputError
from doorstep.privacy.subjects.models import Subject, SubjectKind

#: The consent-based purpose a guardian's answer is recorded under (consent.yaml).
GUARDIAN_PURPOSE = "account.guardian_consent"
#: The purpose the guardian machinery itself runs under (legal obligation).
CHILD_PURPOSE = "account.child_protection"
_AUDIENCE = "doorstep.guardian_consent"
_ALGORITHM = "HS256"
#: What the guardian is shown before deciding; its SHA-256 goes into the ledger.
GUARDIAN_NOTICE = (
    "A child has asked to create an account and named you as their parent or guardian. "
    "If you agree, the account is activated and its e-mail address, mobile number and "
    "password are used to run it. If you refuse, or do not answer, the account and its "
    "data are deleted."
)


@dataclass(frozen=True, slots=True)
class AgeCheck:
    """The outcome of the age gate: ``child_until`` is set only for a child."""

    threshold: int
    child_until: date | None

    @property
    def is_child(self) -> bool:
        """Whether the subscriber is a child on the day of the check."""
        return self.child_until is not None


def child_age(ctx: AccountContext, phone: str | None) -> int:
    """The child age for a subscriber with this number (the stricter of default and region)."""
    threshold = ctx.settings.child_age_default
    region = phone_region(phone) if phone else None
    if region is not None:
        threshold = max(threshold, ctx.settings.child_age_by_region.get(region, threshold))
    return threshold


def _birthday(born: date, years: int) -> date:
    try:
        return born.replace(year=born.year + years)
    except ValueError:  # 29 February in a common year: the day after 28 February
        return date(born.year + years, 3, 1)


def check_age(
    ctx: AccountContext,
    *,
    today: date,
    date_of_birth: date | None,
    age: int | None,
    phone: str | None,
) -> AgeCheck:
    """Classify the subscriber on ``today``; one of ``date_of_birth`` and ``age`` is given."""
    threshold = child_age(ctx, phone)
    if date_of_birth is not None:
        until = _birthday(date_of_birth, threshold)
        return AgeCheck(threshold, until if today < until else None)
    if age is None:
        raise ValueError("check_age needs a date of birth or an age")
    if age >= threshold:
        return AgeCheck(threshold, None)
    # A declared age n means n to n+1 years old: the latest day they turn the threshold.
    return AgeCheck(threshold, _birthday(today, threshold - age))


def _token_hash(jti: str) -> bytes:
    return hashlib.sha256(jti.encode()).digest()


class _LinkClaims(jwt.JWTClaimsRegistry):
    """The claims of a link's token: ``sub``, ``jti``, our ``aud`` and an ``exp``.

    The ``exp`` is not checked against the wall clock: the stored invitation's
    expiry (the same instant) is, against the injected clock.
    """

    def validate_exp(self, value: object) -> None:
        """Accept the ``exp`` as it is (:func:`guardian_of_token` checks the expiry)."""


_LINK_CLAIMS = _LinkClaims(
    sub={"essential": True},
    jti={"essential": True},
    aud={"essential": True, "value": _AUDIENCE},
    exp={"essential": True},
)


def _link_key(ctx: AccountContext) -> OctKey:
    return OctKey.import_key(ctx.derived_key("guardian-link"))


def invite_guardian(
    session: Session, ctx: AccountContext, child: Account, guardian_email: str
) -> uuid.UUID:
    """Make the guardian a subject, store the invitation and e-mail the link; return its id."""
    from doorstep.notify.services import queue_email

    now = ctx.clock.now()
    guardian_id = uuid.uuid4()
    session.add(Subject(id=guardian_id, kind=SubjectKind.GUARDIAN))
    session.flush()
    jti = secrets.token_urlsafe(24)
    expires = now + timedelta(days=ctx.settings.guardian_consent_days)
    session.add(
        Guardian(
            id=guardian_id,
            child_id=child.id,
            email=guardian_email,
            token_hash=_token_hash(jti),
            token_expires_at=expires,
            created_at=now,
        )
    )
    session.flush()
    token = jwt.encode(
        # No default "typ": the header's bytes stay those of the links sent so far.
        {"alg": _ALGORITHM, "typ": "JWT"},
        {"sub": str(guardian_id), "jti": jti, "aud": _AUDIENCE, "exp": int(expires.timestamp())},
        _link_key(ctx),
        algorithms=[_ALGORITHM],
        default_type=None,
    )
    access = ctx.gate.for_subject(session, guardian_id, actor=system_actor("accounts"))
    access.check("account_guardians.email", CHILD_PURPOSE, audit=True)
    base = ctx.settings.account_public_url.rstrip("/")
    queue_email(
        session,
        subject_id=guardian_id,
        to=guardian_email,
        template="account.guardian_consent",
        params={"link": f"{base}/api/v1/accounts/guardian-consent?token={token}"},
        clock=ctx.clock,
        # The guardian has no language of their own here: the child's is the best guess.
        locale=child.language,
    )
    return guardian_id


def guardian_of_token(session: Session, ctx: AccountContext, token: str) -> Guardian:
    """The open invitation a link's token belongs to; :class:`InvalidInputError` otherwise.

    The signature and audience are checked by joserfc; expiry and single use by
    the stored record against the injected clock.
    """
    invalid = InvalidInputError(
        "The link is not valid or has been used; ask the child to sign up again.",
        errors=[{"field": "token", "rule": "invalid_link"}],
    )
    try:
        claims = jwt.decode(token, _link_key(ctx), algorithms=[_ALGORITHM]).claims
        _LINK_CLAIMS.validate(claims)
        guardian_id = uuid.UUID(str(claims["sub"]))
    except (JoseError, ValueError):
        raise invalid from None
    row = session.get(Guardian, guardian_id, with_for_update=True)
    if (
        row is None
        or row.decided_at is not None
        or row.token_expires_at <= ctx.clock.now()
        or row.token_hash != _token_hash(str(claims["jti"]))
    ):
        raise invalid
    return row


def record_decision(
    session: Session, ctx: AccountContext, row: Guardian, *, grant: bool
) -> uuid.UUID:
    """Write the guardian's answer to the consent ledger and the invitation; return the event id."""
    from doorstep.accounts.children.models import GuardianDecision
    from doorstep.privacy.consent import grant as grant_consent
    from doorstep.privacy.consent import refuse as refuse_consent

    decide = grant_consent if grant else refuse_consent
    event = decide(
        session,
        subject_id=row.child_id,
        purpose=GUARDIAN_PURPOSE,
        channel="email",
        notice_text=GUARDIAN_NOTICE,
        clock=ctx.clock,
        actor=subject_actor(row.id),
        terms=ctx.gate.terms,
    )
    row.decided_at = event.occurred_at
    row.decision = GuardianDecision.GRANTED if grant else GuardianDecision.REFUSED
    row.consent_event_id = event.id
    session.flush()
    return event.id


def overdue_children(session: Session, *, now: datetime, days: int) -> list[uuid.UUID]:
    """Children's accounts still awaiting consent ``days`` after sign-up (oldest first)."""
    cutoff = now - timedelta(days=days)
    return list(
        session.scalars(
            sa.select(Account.id)
            .where(Account.status == AccountStatus.AWAITING_GUARDIAN, Account.created_at <= cutoff)
            .order_by(Account.created_at)
            .limit(1000)
        )
    )
