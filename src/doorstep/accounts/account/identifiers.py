"""Sign-in identifiers: e-mail addresses and mobile numbers, validated and normalised.

* E-mail: syntax checked by ``email-validator`` without any DNS look-up (a
  look-up would leak the address to resolvers and make sign-up depend on the
  network); stored lower-cased, so ``Ann@Example.org`` and ``ann@example.org``
  are one account.
* Mobile: parsed by ``phonenumbers`` (with ``phone_default_region`` for numbers
  written without ``+``), must be a valid number, stored as E.164 (``+4915112345678``).

Each check returns the normalised value or the rule it broke, so callers can
report every invalid field at once.  Nothing here logs or echoes the input.
"""

from __future__ import annotations

from dataclasses import dataclass

import phonenumbers
from email_validator import EmailNotValidError, validate_email

MAX_EMAIL_LENGTH = 254
MAX_PHONE_LENGTH = 32


@dataclass(frozen=True, slots=True)
class Checked:
    """A normalised value, or the name of the rule it broke (``value`` is then None)."""

    value: str | None
    rule: str | None = None


def normalise_email(raw: str) -> Checked:
    """``Checked(lower-cased address)`` or ``Checked(None, "email_format")``."""
    text = raw.strip()
    if not text or len(text) > MAX_EMAIL_LENGTH:
        return Checked(None, "email_format")
    try:
        result = validate_email(text, check_deliverability=False)
    except EmailNotValidError:
        return Checked(None, "email_format")
    return Checked(result.normalized.lower())


def normalise_phone(raw: str, *, default_region: str | None = None) -> Checked:
    """``Checked(E.164 number)`` or ``Checked(None, "phone_format")``."""
    text = raw.strip()
    if not text or len(text) > MAX_PHONE_LENGTH:
        return Checked(None, "phone_format")
    try:
        number = phonenumbers.parse(text, None if text.startswith("+") else default_region)
    except phonenumbers.NumberParseException:
        return Checked(None, "phone_format")
    if not phonenumbers.is_valid_number(number):
        return Checked(None, "phone_format")
    return Checked(phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164))


def phone_region(e164: str) -> str | None:
    """The ISO 3166 region of a valid E.164 number (``DE`` for ``+49…``), if known."""
    try:
        return phonenumbers.region_code_for_number(phonenumbers.parse(e164, None)) or None
    except phonenumbers.NumberParseException:
        return None


def identifier_kind(raw: str) -> str:
    """``email`` when ``raw`` looks like an address (has ``@``), else ``phone``."""
    return "email" if "@" in raw else "phone"
