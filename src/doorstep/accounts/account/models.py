"""The account itself: the ``accounts`` table; every column declares what it holds (the data map).

An account *is* a subject: ``accounts.id = subjects.id``.  What the policy calls
registration data (e-mail, mobile number, password, linked providers) has the
retention rule ``until_deregistration``: the erasure job deletes those columns
and rows when an account is deregistered (:mod:`doorstep.accounts.deregistration.erasure`
derives what to delete from these declarations).  What stays is a pseudonymous
tombstone (id, status, times) until the subject itself is erased, so a job keyed
on the account can still be refused with ``account_deregistered``.

The other tables of the area live with their concept: ``models.py`` in
:mod:`doorstep.accounts.sessions`, :mod:`~doorstep.accounts.signup`,
:mod:`~doorstep.accounts.signin`, :mod:`~doorstep.accounts.thirdparty`,
:mod:`~doorstep.accounts.profile`, :mod:`~doorstep.accounts.children` and
:mod:`~doorstep.accounts.deregistration` (``doorstep.schema`` imports each).
"""

from __future__ import annotations

import uuid
from datetime import date, datetime
from enum import StrEnum

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from doorstep.accounts.account.datamap import registration, tombstone
from doorstep.core.models import Base, enum_type
from doorstep.privacy.datamap.record_sources import source_column_info
from doorstep.vocabulary import LegalBasis, described, personal

#: The collection points an account is created at (CORP-1.1): the app's sign-up, the
#: privacy center's, and an operator's import of identities it proved itself.
APP_SIGNUP = "app_signup"
WEB_SIGNUP = "web_signup"
OPERATOR_IMPORT = "operator_import"


class AccountStatus(StrEnum):
    """Where an account is in its life.

    ``pending``: an identifier is not proven yet; ``awaiting_guardian``: a child's
    account waits for its guardian's consent; ``active``: may sign in;
    ``deregistered``: closed for good (erasure follows).
    """

    PENDING = "pending"
    AWAITING_GUARDIAN = "awaiting_guardian"
    ACTIVE = "active"
    DEREGISTERED = "deregistered"


class DeregistrationReason(StrEnum):
    """Why an account was closed."""

    SELF_SERVICE = "self_service"
    SUPPORT = "support"
    GUARDIAN_CONSENT_MISSING = "guardian_consent_missing"
    GUARDIAN_REFUSED = "guardian_refused"


_CONTACT_PURPOSES = (
    "account.management",
    "account.authentication",
    "customer.support",
    "privacy.rights",
)
_CLAUSES = ("CPE-I.i.1.a", "CPE-I.i.1.b", "CPE-I.i.1.d")


class Account(Base):
    """A subscriber's account: the identifiers and the password hash, and its status."""

    __tablename__ = "accounts"

    id: Mapped[uuid.UUID] = mapped_column(
        sa.ForeignKey("subjects.id", ondelete="CASCADE"),
        primary_key=True,
        info=tombstone("user.unique_id.pseudonymous", "The account's subject id."),
    )
    status: Mapped[AccountStatus] = mapped_column(
        enum_type(AccountStatus, "account_status"),
        info=tombstone("user.account", "pending, awaiting_guardian, active or deregistered."),
    )
    email: Mapped[str | None] = mapped_column(
        sa.Text,
        unique=True,
        info=registration(
            "user.contact.email",
            "The sign-in e-mail address, lower-cased.",
            purposes=_CONTACT_PURPOSES,
            clauses=_CLAUSES,
        ),
    )
    phone: Mapped[str | None] = mapped_column(
        sa.Text,
        unique=True,
        info=registration(
            "user.contact.phone_number",
            "The mobile number in E.164 form.",
            purposes=_CONTACT_PURPOSES,
            clauses=_CLAUSES,
        ),
    )
    password_hash: Mapped[str | None] = mapped_column(
        sa.Text,
        info=registration(
            "user.authorization.password",
            "argon2id hash of the password (PHC string); the password itself is never stored.",
            purposes=("account.authentication",),
            clauses=_CLAUSES,
            export=described(
                "A password is set, last changed on {password_changed_at}.",
                reason="a credential: the hash could be attacked to guess the password",
            ),
        ),
    )
    password_changed_at: Mapped[datetime | None] = mapped_column(
        info=registration("user.account", "When the password was last set or changed."),
    )
    email_verified_at: Mapped[datetime | None] = mapped_column(
        info=registration("user.account", "When a one-time code proved the e-mail address."),
    )
    phone_verified_at: Mapped[datetime | None] = mapped_column(
        info=registration("user.account", "When a one-time code proved the mobile number."),
    )
    child_until: Mapped[date | None] = mapped_column(
        sa.Date,
        info=personal(
            "user.childrens",
            purposes=["account.child_protection", "account.guardian_consent", "privacy.rights"],
            legal_basis=LegalBasis.LEGAL_OBLIGATION,
            retention="until_deregistration",
            clauses=["CPE-VI.1", "CPE-VI.2", "CORP-6.1"],
            description=(
                "Set only for a child: the day the subscriber stops being one (from the date of "
                "birth or the age declared at sign-up, which are not stored)."
            ),
        ),
    )
    locked_at: Mapped[datetime | None] = mapped_column(
        info=registration("user.account", "When staff locked the account (no sign-in)."),
    )
    language: Mapped[str] = mapped_column(
        sa.Text,
        server_default="en",
        info=personal(
            "user.account.settings",
            purposes=["account.management"],
            legal_basis=LegalBasis.CONTRACT,
            retention="until_erasure",
            clauses=["CPE-I.i.1.a"],
            description=(
                "The language the subscriber reads (en, de): e-mails and the export's README "
                "are written in it.  Set at sign-up; not identifying, so it stays with the "
                "pseudonymous remainder until the subject is erased."
            ),
        ),
    )
    created_at: Mapped[datetime] = mapped_column(
        info=tombstone("user.account", "When the account was created."),
    )
    deregistered_at: Mapped[datetime | None] = mapped_column(
        info=tombstone("user.account", "When the account was deregistered."),
    )
    deregistration_reason: Mapped[DeregistrationReason | None] = mapped_column(
        enum_type(DeregistrationReason, "account_deregistration_reason"),
        info=tombstone("user.account", "Why the account was closed."),
    )
    erased_at: Mapped[datetime | None] = mapped_column(
        info=tombstone("user.account", "When the registration data was deleted."),
    )
    source: Mapped[str] = mapped_column(
        sa.Text, info=source_column_info(APP_SIGNUP, WEB_SIGNUP, OPERATOR_IMPORT)
    )

    __table_args__ = (
        sa.CheckConstraint(
            "(status = 'deregistered') = (deregistered_at IS NOT NULL)",
            name="deregistered_when_closed",
        ),
        sa.CheckConstraint(
            "status = 'deregistered' OR password_hash IS NOT NULL", name="password_while_open"
        ),
        sa.CheckConstraint(
            "status = 'deregistered' OR email IS NOT NULL OR phone IS NOT NULL",
            name="identifier_while_open",
        ),
        sa.CheckConstraint(
            "erased_at IS NULL OR (email IS NULL AND phone IS NULL AND password_hash IS NULL)",
            name="erased_means_empty",
        ),
        sa.CheckConstraint("email = lower(email)", name="email_lower_case"),
        sa.CheckConstraint("phone ~ '^\\+[1-9][0-9]{6,14}$'", name="phone_e164"),
        sa.Index(
            "ix_accounts_awaiting_guardian",
            "created_at",
            postgresql_where=sa.text("status = 'awaiting_guardian'"),
        ),
    )
