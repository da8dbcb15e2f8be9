"""The subscriber's home country, recorded at sign-up (the country of collection, X-5).

Decision 0017 makes the country where data is collected the place it stays;
decision 0031 lets the transfer gate read it per subject.  At sign-up it is, in
this order:

1. the ``country`` the client sends (the app knows where it is used): an ISO
   3166-1 alpha-2 code of a known territory, else the field is refused with rule
   ``iso_3166_alpha_2``;
2. the region of the mobile number (``DE`` for ``+49…``), as the age gate reads it;
3. the pack's ``transfers.home`` (its ``primary`` region's country).

It is recorded with :func:`doorstep.privacy.transfers.mechanisms.set_home` in the
sign-up's transaction, so a later change of the pack's home does not move a
subscriber who signed up before it.

From it follows whether the sign-up's codes would be carried abroad
(:func:`consent_abroad`, decision 0035): where a delivery would need the
subscriber's consent, sign-up needs ``transfer_consent`` before anything is
stored, and :func:`record_consents` records it in the sign-up's transaction.
"""

from __future__ import annotations

import re
import uuid
from functools import cache

from babel import Locale
from sqlalchemy.orm import Session

from doorstep.accounts import transfer_consents
from doorstep.accounts.account.identifiers import phone_region
from doorstep.accounts.context import AccountContext
from doorstep.audit.entries import subject_actor
from doorstep.privacy.datamap.chosen import chosen_pack
from doorstep.privacy.datamap.pack import PolicyPack
from doorstep.privacy.transfers.mechanisms import set_home
from doorstep.privacy.transfers.policy import transfer_policy

RULE = "iso_3166_alpha_2"
_ALPHA_2 = re.compile(r"^[A-Z]{2}$")
_UNKNOWN = "ZZ"


def _known(code: str) -> bool:
    return bool(_ALPHA_2.fullmatch(code)) and code != _UNKNOWN and code in _territories()


@cache
def _territories() -> frozenset[str]:
    return frozenset(str(code) for code in Locale("en").territories)


def checked_country(raw: str | None) -> tuple[str | None, str | None]:
    """``(code, None)`` for a known country (any case, spaces trimmed), ``(None, RULE)``
    for anything else, ``(None, None)`` when none was given."""
    if raw is None or not raw.strip():
        return None, None
    code = raw.strip().upper()
    return (code, None) if _known(code) else (None, RULE)


def pack_of(ctx: AccountContext) -> PolicyPack:
    """The policy pack in force: the context's, else the one the settings choose."""
    return ctx.policy.pack if ctx.policy is not None else chosen_pack(ctx.settings)


def home_country(ctx: AccountContext, country: str | None, phone: str | None) -> str:
    """The country of collection: the client's, else the mobile number's, else the pack's."""
    if country is not None:
        return country
    region = phone_region(phone) if phone else None
    if region is not None and _known(region):
        return region
    return transfer_policy(pack_of(ctx)).home


def record_home(
    session: Session,
    ctx: AccountContext,
    subject_id: uuid.UUID,
    *,
    country: str | None,
    phone: str | None,
) -> str:
    """Record the new subscriber's home country; return it."""
    home = home_country(ctx, country, phone)
    set_home(session, subject_id, home, clock=ctx.clock, actor=subject_actor(subject_id))
    return home


def consent_abroad(
    session: Session,
    ctx: AccountContext,
    country: str | None,
    email: str | None,
    phone: str | None,
    *,
    consent: bool,
) -> list[transfer_consents.Destination]:
    """The processors abroad whose consent sign-up records; raise when it cannot go on.

    The e-mail code goes by ``email``, the SMS code by ``sms``; decided from the
    form alone, never from whether an identifier is taken.
    """
    return transfer_consents.require_at_signup(
        session,
        ctx.sharing,
        pack_of(ctx),
        home=home_country(ctx, country, phone),
        channels=[channel for channel, to in (("email", email), ("sms", phone)) if to],
        consent=consent,
        today=ctx.clock.now().date(),
    )


def record_consents(
    session: Session,
    ctx: AccountContext,
    subject_id: uuid.UUID,
    destinations: list[transfer_consents.Destination],
) -> None:
    """Record the new subscriber's consent to each of ``destinations`` (reference ``signup``)."""
    for destination in destinations:
        transfer_consents.grant(
            session,
            subject_id,
            destination,
            clock=ctx.clock,
            actor=subject_actor(subject_id),
            reference=transfer_consents.SIGNUP,
        )
