"""The language a subscriber reads, changed after sign-up.

Sign-up sets ``accounts.language`` (the page's language or the API's field);
this is how the subscriber changes it later, from the privacy center or the app.
E-mails, request notices and the export README written from then on are in the
new language.  Only a language with a catalogue (:func:`doorstep.locale.available`)
is accepted; another is a 422 naming the field, and nothing changes.
"""

from __future__ import annotations

import uuid

from sqlalchemy.orm import Session

from doorstep.accounts.account.lookup import require_open
from doorstep.accounts.context import AccountContext
from doorstep.accounts.exceptions import invalid
from doorstep.audit.entries import subject_actor
from doorstep.audit.services import record
from doorstep.locale import available

PURPOSE = "account.management"


def set_language(
    session: Session, ctx: AccountContext, account_id: uuid.UUID, language: str
) -> str:
    """Store ``language`` as the subscriber's own; returns it.

    Written through the purpose gate (``account.management``) and audited with
    the old and new language codes, which are not personal data of their own.
    """
    if language not in available():
        raise invalid(("language", "language_supported"))
    account = require_open(session, account_id, lock=True)
    access = ctx.gate.for_subject(session, account_id, actor=subject_actor(account_id))
    access.check("accounts.language", PURPOSE, audit=False)
    previous = account.language
    if previous == language:
        return language
    account.language = language
    record(
        session,
        action="account.language_changed",
        actor=subject_actor(account_id),
        subject_id=account_id,
        purpose=PURPOSE,
        element="accounts.language",
        details={"from": previous, "to": language},
    )
    return language
