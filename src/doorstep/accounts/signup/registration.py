"""Sign-up and the proof of e-mail address and mobile number by one-time codes.

Rules (decision 0011):

* ``signup_identifiers=cpe`` (default, CPE-I.i.1.a): e-mail, mobile number and
  password are all required; ``corp`` (CORP-1.6): e-mail or mobile suffices.
  Nothing else is stored for an adult: the date of birth or age answers the
  age gate (:mod:`doorstep.accounts.children`) and is dropped; unknown fields are refused.
* Every invalid field is reported at once as ``{field, rule}``.
* ``language`` (``en`` when not given) is kept on the account: its e-mails and
  messages are written in it; a language without a catalogue is refused.
* The home country (the country of collection, decision 0031) is recorded:
  ``country`` when the client sends one, else the mobile number's region, else
  the pack's (:mod:`.home`).
* Codes a processor abroad would carry need ``transfer_consent`` where the gate
  would ask for it (decision 0035, :func:`.home.consent_abroad`): else refused
  naming each destination, before anything is stored; given, it is recorded.
* Whether an identifier is taken is never revealed: the answer is the same
  ``verification_sent``; the owner gets a notice instead of a code.
* The privacy policy is acknowledged first (CPE-0.5): ``policy_version`` must
  name the version in force, else the sign-up is refused with rule
  ``policy_not_acknowledged`` (whether or not an identifier is taken); the
  acknowledgement (version, channel, instant) is recorded before the account row.
* All or nothing: subject, acknowledgement, account, codes, guardian invitation
  and queued messages are written in the caller's transaction.
* The account becomes ``active`` once every identifier it has is proven (and,
  for a child, once the guardian has consented).
* The account names its collection point (CORP-1.1, decision 0036): ``app_signup``
  for the app API, ``web_signup`` for the privacy center; a channel with no
  registered point is refused before anything is written.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import sqlalchemy as sa
from sqlalchemy.orm import Session

from doorstep.accounts.account.identifiers import normalise_email, normalise_phone
from doorstep.accounts.account.lookup import find_by_identifier, normalise_identifier
from doorstep.accounts.account.models import APP_SIGNUP, WEB_SIGNUP, Account, AccountStatus
from doorstep.accounts.children import guardians
from doorstep.accounts.children.models import Guardian, GuardianDecision
from doorstep.accounts.context import AccountContext
from doorstep.accounts.exceptions import TooManyAttemptsError
from doorstep.accounts.signin.passwords import strength_problems
from doorstep.accounts.signup import codes, home
from doorstep.accounts.signup.models import VerificationKind
from doorstep.audit.entries import subject_actor, system_actor
from doorstep.audit.services import record
from doorstep.core.errors import InvalidInputError
from doorstep.locale import SOURCE, available
from doorstep.privacy.datamap.record_sources import checked_source
from doorstep.privacy.policies import answers
from doorstep.privacy.subjects.models import Subject, SubjectKind

MANAGEMENT = "account.management"
AUTHENTICATION = "account.authentication"
_ACTOR = system_actor("accounts")
#: The collection point each sign-up channel is (CORP-1.1).
SOURCES = {"api": APP_SIGNUP, "app": APP_SIGNUP, "web": WEB_SIGNUP}


@dataclass(frozen=True, slots=True)
class SignUpForm:
    """What a person typed into the sign-up form (raw, not yet validated)."""

    password: str
    email: str | None = None
    phone: str | None = None
    date_of_birth: date | None = None
    age: int | None = None
    guardian_email: str | None = None
    language: str | None = None  # one of doorstep.locale.available(); None: English
    #: The privacy policy version shown and acknowledged (CPE-0.5); must be the one in force.
    policy_version: str | None = None
    #: Where the sign-up came from: ``api`` (the app API) or ``web`` (the privacy center).
    channel: str = "api"
    #: The country of use (ISO 3166-1 alpha-2) the client reports; None: from the number.
    country: str | None = None
    #: The subscriber agrees to its messages being carried abroad (decision 0035).
    transfer_consent: bool = False


@dataclass(frozen=True, slots=True)
class _Valid:
    email: str | None
    phone: str | None
    age: guardians.AgeCheck
    guardian_email: str | None
    language: str
    country: str | None = None


def _identifiers(
    ctx: AccountContext, form: SignUpForm, errors: list[dict[str, str]]
) -> tuple[str | None, str | None]:
    email = phone = None
    if form.email:
        checked = normalise_email(form.email)
        email = checked.value
        if checked.rule:
            errors.append({"field": "email", "rule": checked.rule})
    if form.phone:
        checked = normalise_phone(form.phone, default_region=ctx.settings.phone_default_region)
        phone = checked.value
        if checked.rule:
            errors.append({"field": "phone", "rule": checked.rule})
    if ctx.settings.signup_identifiers == "cpe":
        errors += [
            {"field": f, "rule": "required"} for f in ("email", "phone") if not getattr(form, f)
        ]
    elif not form.email and not form.phone:
        errors.append({"field": "email", "rule": "email_or_phone_required"})
    return email, phone


def _age_rule(form: SignUpForm, today: date) -> tuple[str, str] | None:
    if form.date_of_birth is not None and form.age is not None:
        return ("age", "date_of_birth_or_age")
    if form.date_of_birth is not None:
        ok = date(1900, 1, 1) <= form.date_of_birth <= today
        return None if ok else ("date_of_birth", "date_of_birth_range")
    if form.age is not None:
        return None if 0 <= form.age <= 130 else ("age", "age_range")
    return ("date_of_birth", "age_declaration_required")


def _validate(ctx: AccountContext, form: SignUpForm, today: date) -> _Valid:
    errors: list[dict[str, str]] = []
    email, phone = _identifiers(ctx, form, errors)
    errors += [
        {"field": "password", "rule": weakness.rule}
        for weakness in strength_problems(
            form.password, min_length=ctx.settings.password_min_length, email=email, phone=phone
        )
    ]
    if form.language is not None and form.language not in available():
        errors.append({"field": "language", "rule": "language_supported"})
    country, country_rule = home.checked_country(form.country)
    if country_rule is not None:
        errors.append({"field": "country", "rule": country_rule})
    age = guardian = None
    age_problem = _age_rule(form, today)
    if age_problem is not None:
        errors.append({"field": age_problem[0], "rule": age_problem[1]})
    else:
        age = guardians.check_age(
            ctx, today=today, date_of_birth=form.date_of_birth, age=form.age, phone=phone
        )
        if age.is_child:
            guardian = _guardian_email(form, email, errors)
    if errors or age is None:
        raise InvalidInputError("The sign-up form has invalid fields.", errors=errors)
    return _Valid(email, phone, age, guardian, form.language or SOURCE, country)


def _guardian_email(
    form: SignUpForm, email: str | None, errors: list[dict[str, str]]
) -> str | None:
    if not form.guardian_email:
        errors.append({"field": "guardian_email", "rule": "guardian_consent_required"})
        return None
    checked = normalise_email(form.guardian_email)
    if checked.rule:
        errors.append({"field": "guardian_email", "rule": checked.rule})
    elif checked.value == email:
        errors.append({"field": "guardian_email", "rule": "guardian_email_distinct"})
    return checked.value


def sign_up(session: Session, ctx: AccountContext, form: SignUpForm) -> None:
    """Create a pending account and send its codes, or notify the owner of a taken identifier.

    Returns nothing on purpose: the caller answers the same in both cases.
    Raises :class:`InvalidInputError` listing every invalid field.
    """
    now = ctx.clock.now()
    valid = _validate(ctx, form, now.date())
    source = checked_source(
        Account.__table__,
        SOURCES.get(form.channel),
        ctx.policy.pack if ctx.policy is not None else None,
    )
    if ctx.policy is not None:
        shown = answers.version_to_acknowledge(session, ctx.policy, ctx.clock).id
        if form.policy_version != shown:
            raise InvalidInputError(
                "The privacy policy in force was not acknowledged.",
                errors=[{"field": "policy_version", "rule": answers.NOT_ACKNOWLEDGED}],
                reason=answers.NOT_ACKNOWLEDGED,
                policy_version=shown,
            )
    abroad = home.consent_abroad(
        session, ctx, valid.country, valid.email, valid.phone, consent=form.transfer_consent
    )
    password_hash = ctx.hasher.hash(form.password)  # also when taken: same time either way
    owners = [
        owner
        for kind, value in (("email", valid.email), ("phone", valid.phone))
        if value and (owner := find_by_identifier(session, kind, value)) is not None
    ]
    if owners:
        for owner in {o.id: o for o in owners}.values():
            _notify_owner(session, ctx, owner)
        return
    subject = Subject(kind=SubjectKind.SUBSCRIBER)
    session.add(subject)
    session.flush()
    home.record_home(session, ctx, subject.id, country=valid.country, phone=valid.phone)
    if ctx.policy is not None:
        answers.acknowledge(
            session,
            subject_id=subject.id,
            shown=form.policy_version,
            channel=form.channel,
            policy=ctx.policy,
            clock=ctx.clock,
        )
    home.record_consents(session, ctx, subject.id, abroad)
    account = Account(
        id=subject.id,
        status=AccountStatus.AWAITING_GUARDIAN if valid.age.is_child else AccountStatus.PENDING,
        email=valid.email,
        phone=valid.phone,
        password_hash=password_hash,
        password_changed_at=now,
        child_until=valid.age.child_until,
        language=valid.language,
        created_at=now,
        source=source,
    )
    session.add(account)
    session.flush()
    access = ctx.gate.for_subject(session, account.id, actor=subject_actor(account.id))
    for element in ("accounts.email", "accounts.phone"):
        if getattr(account, element.split(".")[1]) is not None:
            access.check(element, MANAGEMENT, audit=True)
    access.check("accounts.password_hash", AUTHENTICATION, audit=True)
    if valid.age.is_child:
        access.check("accounts.child_until", guardians.CHILD_PURPOSE, audit=True)
        assert valid.guardian_email is not None
        guardians.invite_guardian(session, ctx, account, valid.guardian_email)
    send_codes(session, ctx, account)
    record(
        session,
        action="account.created",
        actor=subject_actor(account.id),
        subject_id=account.id,
        purpose=MANAGEMENT,
        details={"child": valid.age.is_child, "mode": ctx.settings.signup_identifiers},
        at=now,
    )


def _notify_owner(session: Session, ctx: AccountContext, owner: Account) -> None:
    """Tell the owner of a taken identifier that someone tried to sign up with it."""
    from doorstep.notify.services import queue_email, queue_sms

    if owner.status is AccountStatus.DEREGISTERED:
        return
    access = ctx.gate.for_subject(session, owner.id, actor=_ACTOR)
    if owner.email is not None:
        access.check("accounts.email", AUTHENTICATION, audit=True)
        queue_email(
            session,
            subject_id=owner.id,
            to=owner.email,
            template="account.signup_attempt",
            params={},
            clock=ctx.clock,
            locale=owner.language,
        )
    elif owner.phone is not None:
        access.check("accounts.phone", AUTHENTICATION, audit=True)
        queue_sms(
            session,
            subject_id=owner.id,
            to=owner.phone,
            template="account.signup_attempt",
            params={},
            clock=ctx.clock,
            locale=owner.language,
        )
    record(session, action="account.signup_taken", actor=_ACTOR, subject_id=owner.id)


def send_codes(
    session: Session, ctx: AccountContext, account: Account, *, only: str | None = None
) -> None:
    """Send a fresh code for every identifier not yet proven (or only ``email``/``phone``)."""
    from doorstep.notify.services import queue_email, queue_sms

    access = ctx.gate.for_subject(session, account.id, actor=_ACTOR)
    if account.email and account.email_verified_at is None and only in (None, "email"):
        code = codes.issue(session, ctx, account.id, VerificationKind.VERIFY_EMAIL)
        access.check("accounts.email", AUTHENTICATION, audit=True)
        queue_email(
            session,
            subject_id=account.id,
            to=account.email,
            template="account.verify_email",
            params={"code": code},
            clock=ctx.clock,
            locale=account.language,
        )
    if account.phone and account.phone_verified_at is None and only in (None, "phone"):
        code = codes.issue(session, ctx, account.id, VerificationKind.VERIFY_PHONE)
        access.check("accounts.phone", AUTHENTICATION, audit=True)
        queue_sms(
            session,
            subject_id=account.id,
            to=account.phone,
            template="account.verify_phone",
            params={"code": code},
            clock=ctx.clock,
            locale=account.language,
        )


def verify(session: Session, ctx: AccountContext, identifier: str, code: str) -> AccountStatus:
    """Prove an identifier with its code; return the account's status afterwards.

    An unknown identifier fails exactly like a wrong code (:class:`InvalidCodeError`).
    """
    normal = normalise_identifier(ctx, identifier)
    account = find_by_identifier(session, *normal, lock=True) if normal else None
    if account is not None and account.status is AccountStatus.DEREGISTERED:
        account = None
    kind = (
        VerificationKind.VERIFY_EMAIL
        if normal and normal[0] == "email"
        else VerificationKind.VERIFY_PHONE
    )
    codes.redeem(session, ctx, account.id if account else None, kind, code)
    assert account is not None and normal is not None
    now = ctx.clock.now()
    if normal[0] == "email":
        account.email_verified_at = now
    else:
        account.phone_verified_at = now
    refresh_status(session, account)
    record(
        session,
        action="account.identifier_verified",
        actor=subject_actor(account.id),
        subject_id=account.id,
        purpose=AUTHENTICATION,
        element=f"accounts.{normal[0]}",
        details={"status": account.status.value},
    )
    return account.status


def resend(session: Session, ctx: AccountContext, identifier: str) -> None:
    """Send a new code to an unproven identifier; silently nothing for an unknown one."""
    normal = normalise_identifier(ctx, identifier)
    account = find_by_identifier(session, *normal) if normal else None
    if account is None or account.status is AccountStatus.DEREGISTERED or normal is None:
        return
    try:
        send_codes(session, ctx, account, only=normal[0])
    except TooManyAttemptsError:
        return  # a 429 here would tell that the identifier is registered


def refresh_status(session: Session, account: Account) -> None:
    """Activate the account when every identifier is proven and any guardian has consented."""
    if account.status not in (AccountStatus.PENDING, AccountStatus.AWAITING_GUARDIAN):
        return
    proven = (account.email is None or account.email_verified_at is not None) and (
        account.phone is None or account.phone_verified_at is not None
    )
    waiting = account.child_until is not None and not session.scalar(
        sa.select(
            sa.exists().where(
                Guardian.child_id == account.id, Guardian.decision == GuardianDecision.GRANTED
            )
        )
    )
    if waiting:
        account.status = AccountStatus.AWAITING_GUARDIAN
    else:
        account.status = AccountStatus.ACTIVE if proven else AccountStatus.PENDING
    session.flush()
