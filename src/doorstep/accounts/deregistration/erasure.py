"""Erasure of a deregistered account's registration data: idempotent and resumable.

What goes is what the data map says: every column of the accounts tables whose
retention rule is ``until_deregistration`` (:func:`registration_columns`), the
rows of tables that hold nothing else, and every short-lived sign-in record.
What stays is the pseudonymous tombstone (id, status, times; retention
``until_erasure``) so that anything keyed on the account is refused with
``account_deregistered``.  The subject's data key is destroyed, which shreds
every copy of its encrypted fields, backups included (decision 0006).

Steps, each safe to repeat after a crash at any point:

1. read and decrypt the linked providers' tokens (nothing changes);
2. ask each provider to revoke them (outside any transaction; a provider that
   is down is recorded, not waited for);
3. delete the links (one transaction);
4. delete sessions, codes, flows, profile and guardians (and the guardians'
   subjects), empty the registration columns, destroy the keys, stamp
   ``erased_at`` (one transaction).

A job that dies after 3 finds no links and goes on with 4; one that dies in 4
(even after the keyring tombstone was written) redoes 4, and ``destroy`` is
idempotent.  A finished erasure is a no-op.

A legal hold of the account's subject (:mod:`doorstep.privacy.holds`, decision
0021) keeps what it holds: a held table's rows, held registration columns, and
the data key when a held element is encrypted; the rest goes as above
(CPE-V.5.d).  ``erased_at`` then stays empty and the job is deferred until a
hold of the subject is released, when it runs again and finishes.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable

import sqlalchemy as sa
from sqlalchemy.orm import Session, sessionmaker

from doorstep.accounts.account.models import Account, AccountStatus
from doorstep.accounts.children.models import Guardian
from doorstep.accounts.context import AccountContext
from doorstep.accounts.deregistration.closing import ERASE_TASK
from doorstep.accounts.profile.models import AccountProfile
from doorstep.accounts.sessions.models import AccountSession
from doorstep.accounts.signup.models import AccountVerification
from doorstep.accounts.thirdparty.models import AccountIdentity, OidcFlow
from doorstep.accounts.thirdparty.providers import open_tokens, revoke_at_provider
from doorstep.audit.entries import system_actor
from doorstep.audit.services import record
from doorstep.core.models import schema_metadata
from doorstep.keys.exceptions import DecryptionError, KeyDestroyedError, SubjectKeyNotFoundError
from doorstep.privacy.holds import services as holds
from doorstep.privacy.holds.elements import Held, keeps_key
from doorstep.privacy.subjects.models import Subject
from doorstep.vocabulary.declarations import INFO_KEY, PersonalData

log = logging.getLogger("doorstep.accounts.erasure")

RULE = "until_deregistration"
ACTOR = system_actor("accounts.erase")
_CHILD_TABLES = (AccountSession, AccountVerification, OidcFlow, AccountProfile)
Step = Callable[[str], None]


def registration_columns(table: sa.Table = Account.__table__) -> list[str]:  # type: ignore[assignment]
    """Columns of ``table`` whose data-map retention is ``until_deregistration``."""
    return [
        column.name
        for column in table.columns
        if isinstance(column.info.get(INFO_KEY), PersonalData)
        and column.info[INFO_KEY].retention == RULE
    ]


def _nothing(step: str) -> None:
    return None


def erase_account(
    sessions: sessionmaker[Session],
    ctx: AccountContext,
    account_id: uuid.UUID,
    *,
    after_step: Step = _nothing,
) -> bool:
    """Erase the account's registration data; False when there is nothing (left) to do.

    ``after_step`` is called after each committed step (``providers``,
    ``registration``); tests use it to stop the job half-way.
    """
    with sessions.begin() as session:
        account = session.get(Account, account_id)
        if account is None or account.erased_at is not None:
            return False
        if account.status is not AccountStatus.DEREGISTERED:
            log.warning("erasure skipped: the account is not deregistered")
            return False
        pending = [
            (row.provider, _tokens(session, ctx, row)) for row in _links(session, account_id)
        ]
    outcomes = {name: revoke_at_provider(ctx, name, found) for name, found in pending if found}
    with sessions.begin() as session:
        if not holds.held(session, account_id).touches(AccountIdentity.__tablename__):
            session.execute(
                sa.delete(AccountIdentity).where(AccountIdentity.account_id == account_id)
            )
        for name, revoked in sorted(outcomes.items()):
            record(
                session,
                action="account.provider_tokens_revoked",
                actor=ACTOR,
                subject_id=account_id,
                purpose="account.token_sharing",
                outcome="ok" if revoked else "failed",
                details={"provider": name},
            )
    after_step("providers")
    with sessions.begin() as session:
        done = _erase_registration(session, ctx, account_id)
    after_step("registration")
    return done


def _links(session: Session, account_id: uuid.UUID) -> list[AccountIdentity]:
    query = sa.select(AccountIdentity).where(AccountIdentity.account_id == account_id)
    return list(session.scalars(query))


def _tokens(session: Session, ctx: AccountContext, row: AccountIdentity) -> list[tuple[str, str]]:
    try:
        return open_tokens(session, ctx, row)
    except (KeyDestroyedError, SubjectKeyNotFoundError, DecryptionError):
        return []  # already shredded: nothing left that a provider could honour


def _erase_registration(session: Session, ctx: AccountContext, account_id: uuid.UUID) -> bool:
    account = session.get(Account, account_id, with_for_update=True)
    if account is None or account.erased_at is not None:
        return False
    held = holds.held(session, account_id)
    for model in _CHILD_TABLES:
        if not held.touches(model.__tablename__):
            session.execute(sa.delete(model).where(model.account_id == account_id))
    guardians: list[uuid.UUID] = []
    if not held.touches(Guardian.__tablename__):
        query = sa.select(Guardian.id).where(Guardian.child_id == account_id)
        guardians = list(session.scalars(query))
        session.execute(sa.delete(Guardian).where(Guardian.child_id == account_id))
    for guardian_id in guardians:
        ctx.keys.destroy(session, guardian_id)
        session.execute(sa.delete(Subject).where(Subject.id == guardian_id))
    now = ctx.clock.now()
    columns = _erasable(held)
    done = {} if held else {"erased_at": now}
    session.execute(
        sa.update(Account).where(Account.id == account_id).values(dict.fromkeys(columns) | done)
    )
    if not keeps_key(schema_metadata(), held):
        ctx.keys.destroy(session, account_id)
    details: dict[str, str | int | bool | None] = {
        "guardians": len(guardians),
        "columns": len(columns),
    }
    if held:
        details |= {"partial": True, "held": held.key if not held.everything else "all"}
        holds.defer(
            session, ctx.clock, account_id, ERASE_TASK, actor=ACTOR, account_id=str(account_id)
        )
    record(
        session,
        action="account.erased",
        actor=ACTOR,
        subject_id=account_id,
        purpose="account.management",
        details=details,
        at=now,
    )
    return True


def _erasable(held: Held) -> list[str]:
    """The registration columns a legal hold does not keep (all of them without one)."""
    table = Account.__tablename__
    if held.table(table):
        return []
    return [name for name in registration_columns() if name not in held.columns(table)]
