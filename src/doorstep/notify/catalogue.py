"""The message templates Doorstep ships, in English.

Each entry names its parameters by the fields it uses; a translation registers
the same key with ``locale=`` and the same fields.  Texts never ask for
personal data to be sent back by e-mail (the policy advises against it).

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

from functools import cache

from doorstep.notify.templates import TemplateRegistry

_FOOTER = "\n\nIf you did not ask for this, you can ignore this message.\n"


def register_all(registry: TemplateRegistry) -> None:
    """Register every shipped template in ``registry``."""
    registry.register(
        "account.verify_email",
        subject="Your verification code",
        text="Your code to confirm this e-mail address is {code}." + _FOOTER,
        html=(
            "<p>Your code to confirm this e-mail address is <strong>{code}</strong>.</p>"
            "<p>If you did not ask for this, you can ignore this message.</p>"
        ),
    )
    registry.register(
        "account.verify_phone",
        subject="Your verification code",
        text="Your Doorstep code is {code}. Do not share it with anyone.",
    )
    registry.register(
        "account.password_reset",
        subject="Reset your password",
        text="Your code to reset your password is {code}." + _FOOTER,
        html=(
            "<p>Your code to reset your password is <strong>{code}</strong>.</p>"
            "<p>If you did not ask for this, you can ignore this message.</p>"
        ),
    )
    registry.register(
        "account.signup_attempt",
        subject="Someone tried to sign up with your details",
        text=(
            "Someone tried to create an account with this address or number, which already "
            "belongs to your account. If it was you, sign in or reset your password instead."
            + _FOOTER
        ),
    )
    registry.register(
        "account.guardian_consent",
        subject="A child's account needs your consent",
        text=(
            "A child has asked to create an account and named you as their parent or "
            "guardian. The account stays inactive until you decide:\n\n{link}\n" + _FOOTER
        ),
        html=(
            "<p>A child has asked to create an account and named you as their parent or "
            "guardian. The account stays inactive until you decide.</p>"
            '<p><a href="{link}">Review the request</a></p>'
            "<p>If you did not expect this, you can ignore this message.</p>"
        ),
    )
    registry.register(
        "account.deregistered",
        subject="Your account has been deleted",
        text=(
            "Your account has been deleted. We have stopped using its information and are "
            "deleting or anonymising it.\n"
        ),
    )
    registry.register(
        "account.deregistration_refused",
        subject="Your account could not be deleted yet",
        text=(
            "We could not delete your account as you asked. The privacy center tells you why "
            "and what you can do next.\n"
        ),
    )
    registry.register(
        "device.bound",
        subject="A device was added to your account",
        text="{device} was added to your account. If this was not you, remove it in the app.\n",
    )
    registry.register(
        "request.received",
        subject="We have received your request",
        text=(
            "We have received your request {reference}. We will answer by {due}.\n"
            "You can follow it in the privacy center.\n"
        ),
    )
    registry.register(
        "request.extended",
        subject="We need more time for your request",
        text=(
            "We need more time to answer your request {reference}, because of its {reason}. "
            "We will answer by {due}.\nYou can follow it in the privacy center.\n"
        ),
    )
    registry.register(
        "request.refused",
        subject="We cannot carry out your request",
        text=(
            "We cannot carry out your request {reference}. Reason: {reason}.\n"
            "If you disagree, you may complain to {complaint}.\n"
        ),
    )
    registry.register(
        "request.completed",
        subject="Your request has been carried out",
        text="We have carried out your request {reference}.\n",
    )
    registry.register(
        "request.export_ready",
        subject="Your data is ready to download",
        text=(
            "The copy of your data you asked for ({reference}) is ready. Download it from "
            "the privacy center before {expires}; after that it is deleted.\n"
        ),
    )
    registry.register(
        "recipient.erasure",
        subject="Erasure request for a data subject",
        text=(
            "The data subject {subject} has had their personal data erased (our reference "
            "{reference}). Please erase the personal data of this subject that we disclosed "
            "to you, and confirm to us when it is done.\n"
        ),
    )
    registry.register(
        "recipient.correction",
        subject="Correction of a data subject's data",
        text=(
            "We have corrected personal data of the data subject {subject} (our reference "
            "{reference}). Please fetch the corrected record and update your copy, and "
            "confirm to us when it is done.\n"
        ),
    )


@cache
def default_templates() -> TemplateRegistry:
    """The templates Doorstep ships (this module's), loaded once."""
    registry = TemplateRegistry()
    register_all(registry)
    return registry
