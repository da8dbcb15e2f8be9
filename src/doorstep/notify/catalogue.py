"""The message templates Doorstep ships: English message ids and their translations.

Each entry names its parameters by the fields it uses.  The texts are message ids
marked with ``_()``: :func:`register_all` registers the English text and, for
every language with a catalogue (:mod:`doorstep.locale`), its translation under
``locale=<language>`` (the registry checks that it keeps the same fields).  A
message is rendered in the locale it was queued with (the recipient's language;
English when none is known).  Parameters listed in :data:`WORDED` carry message
ids themselves (a refusal reason, a complaint route) and are translated too.
Texts never ask for personal data to be sent back by e-mail (the policy advises
against it).

Key (parameters): when it is sent.

* ``account.verify_email`` (code): sign-up or e-mail change, to prove the address;
* ``account.verify_phone`` (code): sign-up or number change, to prove the number;
* ``account.password_reset`` (code): the subscriber asked to reset the password;
* ``account.signup_attempt`` (none): someone tried to sign up with a taken identifier;
* ``account.guardian_consent`` (link): a child's account waits for a guardian;
* ``account.deregistered`` (none): the account was deleted;
* ``account.deregistration_refused`` (none): a request to delete the account was refused;
* ``device.bound`` (device): a router or gateway was bound to the account;
* ``request.received`` (reference, due): a data-subject request was received;
* ``request.extended`` (reference, due, reason): its deadline was extended;
* ``request.refused`` (reference, reason, complaint): it was refused, and where to complain;
* ``request.completed`` (reference): it was carried out;
* ``request.export_ready`` (reference, expires): the requested copy of the data is ready;
* ``recipient.erasure`` / ``recipient.correction`` (subject, reference): to a recipient
  of the operator's data, asking it to erase or correct what it received.
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import cache

from doorstep.locale import _, available, translations
from doorstep.notify.templates import TemplateRegistry

#: Parameters whose values are message ids, translated with the template.
WORDED = frozenset({"reason", "complaint"})

#: ``(key, subject, text, html)`` of every shipped template, as message ids.
SHIPPED: tuple[tuple[str, str, str, str | None], ...] = (
    (
        "account.verify_email",
        _("Your verification code"),
        _(
            "Your code to confirm this e-mail address is {code}.\n\n"
            "If you did not ask for this, you can ignore this message.\n"
        ),
        _(
            "<p>Your code to confirm this e-mail address is <strong>{code}</strong>.</p>"
            "<p>If you did not ask for this, you can ignore this message.</p>"
        ),
    ),
    (
        "account.verify_phone",
        _("Your verification code"),
        _("Your Doorstep code is {code}. Do not share it with anyone."),
        None,
    ),
    (
        "account.password_reset",
        _("Reset your password"),
        _(
            "Your code to reset your password is {code}.\n\n"
            "If you did not ask for this, you can ignore this message.\n"
        ),
        _(
            "<p>Your code to reset your password is <strong>{code}</strong>.</p>"
            "<p>If you did not ask for this, you can ignore this message.</p>"
        ),
    ),
    (
        "account.signup_attempt",
        _("Someone tried to sign up with your details"),
        _(
            "Someone tried to create an account with this address or number, which already "
            "belongs to your account. If it was you, sign in or reset your password instead.\n\n"
            "If you did not ask for this, you can ignore this message.\n"
        ),
        None,
    ),
    (
        "account.guardian_consent",
        _("A child's account needs your consent"),
        _(
            "A child has asked to create an account and named you as their parent or "
            "guardian. The account stays inactive until you decide:\n\n{link}\n\n\n"
            "If you did not ask for this, you can ignore this message.\n"
        ),
        _(
            "<p>A child has asked to create an account and named you as their parent or "
            "guardian. The account stays inactive until you decide.</p>"
            '<p><a href="{link}">Review the request</a></p>'
            "<p>If you did not expect this, you can ignore this message.</p>"
        ),
    ),
    (
        "account.deregistered",
        _("Your account has been deleted"),
        _(
            "Your account has been deleted. We have stopped using its information and are "
            "deleting or anonymising it.\n"
        ),
        None,
    ),
    (
        "account.deregistration_refused",
        _("Your account could not be deleted yet"),
        _(
            "We could not delete your account as you asked. The privacy center tells you why "
            "and what you can do next.\n"
        ),
        None,
    ),
    (
        "device.bound",
        _("A device was added to your account"),
        _("{device} was added to your account. If this was not you, remove it in the app.\n"),
        None,
    ),
    (
        "request.received",
        _("We have received your request"),
        _(
            "We have received your request {reference}. We will answer by {due}.\n"
            "You can follow it in the privacy center.\n"
        ),
        None,
    ),
    (
        "request.extended",
        _("We need more time for your request"),
        _(
            "We need more time to answer your request {reference}, because of its {reason}. "
            "We will answer by {due}.\nYou can follow it in the privacy center.\n"
        ),
        None,
    ),
    (
        "request.refused",
        _("We cannot carry out your request"),
        _(
            "We cannot carry out your request {reference}. Reason: {reason}.\n"
            "If you disagree, you may complain to {complaint}.\n"
        ),
        None,
    ),
    (
        "request.completed",
        _("Your request has been carried out"),
        _("We have carried out your request {reference}.\n"),
        None,
    ),
    (
        "request.export_ready",
        _("Your data is ready to download"),
        _(
            "The copy of your data you asked for ({reference}) is ready. Download it from "
            "the privacy center before {expires}; after that it is deleted.\n"
        ),
        None,
    ),
    (
        "recipient.erasure",
        _("Erasure request for a data subject"),
        _(
            "The data subject {subject} has had their personal data erased (our reference "
            "{reference}). Please erase the personal data of this subject that we disclosed "
            "to you, and confirm to us when it is done.\n"
        ),
        None,
    ),
    (
        "recipient.correction",
        _("Correction of a data subject's data"),
        _(
            "We have corrected personal data of the data subject {subject} (our reference "
            "{reference}). Please fetch the corrected record and update your copy, and "
            "confirm to us when it is done.\n"
        ),
        None,
    ),
)


def register_all(registry: TemplateRegistry, languages: Iterable[str] | None = None) -> None:
    """Register every shipped template in ``registry``: English, then each of ``languages``
    (default: every language with a catalogue) translated through its catalogue."""
    for key, subject, text, html in SHIPPED:
        registry.register(key, subject=subject, text=text, html=html, worded=WORDED)
    for language in available()[1:] if languages is None else languages:
        gettext = translations(language).gettext
        for key, subject, text, html in SHIPPED:
            registry.register(
                key,
                subject=gettext(subject),
                text=gettext(text),
                html=None if html is None else gettext(html),
                locale=language,
            )


@cache
def default_templates() -> TemplateRegistry:
    """The templates Doorstep ships (this module's), loaded once."""
    registry = TemplateRegistry()
    register_all(registry)
    return registry
