"""The words of the "My privacy" pages: request kinds, states, grounds, elements, purposes.

Every label here is an English message id marked with ``_()``; templates
translate it when they render (``{{ _(label) }}``).  Codes (kinds, statuses,
ground codes, element keys) never reach the reader as they are: each has its
plain-language label here, and an unknown code falls back to itself, so a new
code shows up (untranslated) rather than breaking the page.

Contract: pure data and pure functions; nothing here reads the database or a
personal-data value.
"""

from __future__ import annotations

from doorstep.privacy.consent.models import ConsentAction
from doorstep.privacy.datamap.pack import PolicyPack
from doorstep.privacy.requests.codes import REFUSAL_TEXT, ErasureGround, RefusalCode
from doorstep.privacy.requests.models import RequestKind, RequestStatus
from doorstep.web.i18n import _

KINDS: dict[str, str] = {
    RequestKind.ACCESS: _("A copy of my data"),
    RequestKind.PORTABILITY: _("My data to take elsewhere (portability)"),
    RequestKind.CORRECTION: _("Correction"),
    RequestKind.DELETION: _("Deletion"),
    RequestKind.RESTRICTION: _("Restriction of a use"),
    RequestKind.OBJECTION: _("Objection to a use"),
    RequestKind.CONSENT_WITHDRAWAL: _("Withdrawal of a consent"),
    RequestKind.DEREGISTRATION: _("Closing the account"),
}

#: The kinds the public form offers, in its order.
PUBLIC_KINDS: tuple[tuple[str, str], ...] = (
    (RequestKind.ACCESS, _("A copy of my data")),
    (RequestKind.PORTABILITY, _("My data, to take it to another service (portability)")),
    (RequestKind.CORRECTION, _("Correct my e-mail address or mobile number")),
    (RequestKind.DELETION, _("Delete my data")),
    (RequestKind.RESTRICTION, _("Restrict a use of my data")),
    (RequestKind.OBJECTION, _("Object to a use of my data")),
    (RequestKind.CONSENT_WITHDRAWAL, _("Withdraw a consent")),
)

_STATUSES: dict[str, str] = {
    RequestStatus.RECEIVED: _("Received"),
    RequestStatus.VERIFYING: _("Waiting for you to enter the code we sent"),
    RequestStatus.IN_PROGRESS: _("Waiting for review by our privacy team"),
    RequestStatus.EXTENDED: _("Extended: we need more time, and told you why"),
    RequestStatus.COMPLETED: _("Done"),
    RequestStatus.REFUSED: _("Refused"),
}
_PREPARING = _("Being prepared")

#: Plain-language reasons for a deletion (CPE-V.3.b), in the policy's words and order.
GROUNDS: tuple[tuple[str, str], ...] = (
    (
        ErasureGround.UNLAWFUL_PROCESSING,
        _("You think the way we handle your data breaks the law."),
    ),
    (
        ErasureGround.NO_PERMISSION,
        _("We collected or used your data without your permission."),
    ),
    (
        ErasureGround.BREACH_OF_AGREEMENT,
        _("The way we handle your data breaks our agreement with you."),
    ),
    (
        ErasureGround.NO_LONGER_USED_OR_ACCOUNT_CANCELLED,
        _("You no longer use our products or services, or you have closed your account."),
    ),
    (
        ErasureGround.SERVICE_DISCONTINUED,
        _("We no longer provide our products or services to you."),
    ),
)

#: What a correction can be about (keys of ``corrections.CORRECTABLE``).
ELEMENTS: dict[str, str] = {
    "accounts.email": _("E-mail address"),
    "accounts.phone": _("Mobile number"),
}

DECISIONS: dict[str, str] = {
    ConsentAction.GRANT: _("Given"),
    ConsentAction.REFUSE: _("Refused"),
    ConsentAction.WITHDRAW: _("Withdrawn"),
}

#: A receipt's ``consentEvent.type``.
RECEIPT_EVENTS: dict[str, str] = {
    "given": _("Given"),
    "refused": _("Refused"),
    "withdrawn": _("Withdrawn"),
}

CHANNELS: dict[str, str] = {
    "app": _("App"),
    "web": _("Privacy center"),
    "email": _("E-mail"),
    "support": _("Support desk"),
}

EXPORT_STATES: dict[str, str] = {
    "preparing": _("Being prepared"),
    "ready": _("Ready"),
    "expired": _("Expired"),
}

#: Why a download page could not give the file (``ExportNotReadyError.reason``).
NOT_READY: dict[str, str] = {
    "preparing": _("Your data is still being prepared."),
    "expired": _("This download has expired."),
    "erased": _("This download is no longer available."),
}


def kind(code: str) -> str:
    """The words of a request kind."""
    return KINDS.get(code, code)


def status(status_code: str, kind_code: str, automatic: tuple[str, ...]) -> str:
    """The words of a request's status; an automatic kind in progress is "being prepared"."""
    if status_code == RequestStatus.IN_PROGRESS and kind_code in automatic:
        return _PREPARING
    return _STATUSES.get(status_code, status_code)


def ground(code: str | None) -> str:
    """The words of an erasure ground ('' for none)."""
    return dict(GROUNDS).get(code or "", code or "")


def element(key: str | None) -> str:
    """The words of a correctable element ('' for none)."""
    return ELEMENTS.get(key or "", key or "")


def refusal(code: str | None) -> str:
    """Why a request was refused, in words ('' when it was not)."""
    if not code:
        return ""
    try:
        return REFUSAL_TEXT[RefusalCode(code)]
    except ValueError:
        return code


def purpose(pack: PolicyPack, key: str | None) -> str:
    """A purpose in words: the pack's description of it (the key when unknown)."""
    if not key:
        return ""
    found = pack.purposes.get(key)
    return found.description if found is not None else key
