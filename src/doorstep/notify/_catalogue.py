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
* ``request.received`` (reference, due): a data-subject request was received.
"""

from __future__ import annotations

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
