"""The words of the "My privacy" pages: request kinds, states, grounds, elements, purposes,
kinds of data.

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
from doorstep.privacy.datamap.taxonomy import category_name
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

#: What each purpose of the default pack is for, said to the subscriber ("you", "your").
#: The pack's own descriptions are the record of processing's words (third person:
#: "the subscriber"); a purpose a replaced pack adds falls back to its description.
PURPOSES: dict[str, str] = {
    "account.management": _("Keep your account, so the app and its services work."),
    "account.authentication": _("Sign you in and keep your account secure."),
    "device.registration": _("Register your router or gateway when it connects to our cloud."),
    "device.binding": _("Link your router or gateway to your account (QR code or claim code)."),
    "device.product_functions": _(
        "Show your devices on the device page and do what you ask of them (a restart)."
    ),
    "device.internet_access": _(
        "Set up the Internet access of your router or gateway (PPPoE user name and password)."
    ),
    "device.wireless_config": _(
        "Set your Wi-Fi network name and password, and show the networks your router sees."
    ),
    "device.status_query": _(
        "Show you, when you ask, which devices are connected to your router or gateway."
    ),
    "device.maintenance": _(
        "Keep your router or gateway working: install firmware updates, restart it, and set "
        "its settings that say nothing about you."
    ),
    "device.diagnostics": _(
        "Test the connection of your router or gateway when you or our support ask."
    ),
    "device.diagnostics_by_staff": _(
        "Let our support test the connection of your router or gateway (ping, trace route, "
        "speed test) without a support ticket."
    ),
    "device.settings_removal": _(
        "Remove your settings (Internet access account and password, Wi-Fi name and password, "
        "the list of connected devices) from your router or gateway when it leaves you."
    ),
    "privacy.rights": _("Answer your privacy requests and keep the proof the law asks for."),
    "security.audit": _("Keep a tamper-evident record of every use of your personal data."),
    "security.key_management": _(
        "Keep a key of your own, so your secret data is stored encrypted and can be destroyed."
    ),
    "consent.management": _("Keep a record of every consent you give or withdraw."),
    "customer.support": _("Answer your questions to our support or after-sales service."),
    "staff.administration": _("Manage our staff's accounts and what each may do."),
    "notification.delivery": _(
        "Send you the messages the service needs (codes, password resets, confirmations) "
        "by e-mail, SMS or push."
    ),
    "account.token_sharing": _(
        "Keep, encrypted, what a sign-in service you chose gave us, so you are not asked again."
    ),
    "account.child_protection": _(
        "Ask a child's parent or guardian before the child's account is used."
    ),
    "account.guardian_consent": _("Use a child's account as the parent or guardian agreed."),
    "account.profile": _("Show the profile you chose to add (picture, nickname, date of birth)."),
    "device.qr_camera": _(
        "Scan your router's QR code with your phone's camera to fill in its details."
    ),
    "wifi.location_scan": _(
        "Use your phone's location permission to list nearby Wi-Fi networks during setup."
    ),
    # The corporate policy's processing in the operator's other systems (systems.yaml).
    "order.fulfilment": _("Deliver what you ordered in our online shop."),
    "order.payment": _("Take payment for your order; we keep only a token, never your card."),
    "after_sales.service": _("Handle your repair or after-sales request."),
    "after_sales.mailing": _(
        "Post a repaired device back to you, if you chose that: only then your name and address."
    ),
    "service.access_log": _("Keep a log of how you reach our websites, to keep them working."),
    "acquired.contacts": _("Use contact details we obtained lawfully from other sources."),
    "cloud.backup": _("Back up your contacts and photos to the cloud, if you switched it on."),
    "recruitment": _("Consider your job application, and nothing else."),
    "newsletter": _("Send you the newsletter you subscribed to."),
}

#: The kinds of data an optional function uses, in the subscriber's words (the data
#: map's category names, such as "Precise Subject Location", are for the record).
CATEGORIES: dict[str, str] = {
    "user.account.username": _("your nickname"),
    "user.childrens": _("a child's data"),
    "user.behavior": _("whether you open our e-mails"),
    "user.contact.email": _("your e-mail address"),
    "user.contact.phone_number": _("your mobile number"),
    "user.content.self_image": _("your profile picture"),
    "user.demographic.date_of_birth": _("your date of birth"),
    "user.device.device_id": _("your router's identifier"),
    "user.location.precise": _("your phone's precise location"),
    "user.telemetry": _("the results of tests of your connection"),
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
    """A purpose in the subscriber's words; else the pack's description (the key when unknown)."""
    if not key:
        return ""
    if key in PURPOSES:
        return PURPOSES[key]
    found = pack.purposes.get(key)
    return found.description if found is not None else key


def category(key: str) -> str:
    """A kind of data in the subscriber's words; else the data map's name of it."""
    return CATEGORIES.get(key) or category_name(key)
