"""Password hashing (argon2id) and the strength check.

Hashing: argon2id with at least OWASP's parameters (19 MiB, 2 iterations, 1
lane), set by ``password_argon2_*`` settings; the PHC string stores them, so a
hash made under older parameters still verifies and is re-hashed at the next
successful sign-in (:meth:`Passwords.needs_rehash`).  A sign-in for an unknown
identifier still runs one verification against a dummy hash, so the answer takes
as long as for a real account and says nothing about whether it exists.

Strength: :func:`strength_problems` returns every rule a password breaks, each
with a message a person understands; the password itself never appears in a
message, a log line or an error.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cached_property

from argon2 import PasswordHasher, Type
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from doorstep.accounts.signin.common_passwords import BASE_WORDS, COMMON_PASSWORDS
from doorstep.core.settings import Settings

MAX_LENGTH = 128
MIN_DISTINCT = 5
_EDGES = re.compile(r"^[\W\d_]+|[\W\d_]+$")

#: Messages for each rule (the API returns the rule; the app may show the message).
MESSAGES = {
    "too_short": "Use at least {min} characters.",
    "too_long": f"Use at most {MAX_LENGTH} characters.",
    "common_password": "This password is among the first ones attackers try; choose another.",
    "contains_identifier": "Do not use your e-mail address or mobile number in the password.",
    "too_few_distinct_characters": f"Use at least {MIN_DISTINCT} different characters.",
    "repeated_pattern": "Do not repeat the same few characters over and over.",
}


class Passwords:
    """Hash and verify passwords with the deployment's argon2id parameters.  Thread-safe."""

    def __init__(self, *, time_cost: int, memory_kib: int, parallelism: int) -> None:
        self._hasher = PasswordHasher(
            time_cost=time_cost,
            memory_cost=memory_kib,
            parallelism=parallelism,
            hash_len=32,
            salt_len=16,
            type=Type.ID,
        )

    @classmethod
    def from_settings(cls, settings: Settings) -> Passwords:
        """The hasher configured by ``password_argon2_*``."""
        return cls(
            time_cost=settings.password_argon2_time_cost,
            memory_kib=settings.password_argon2_memory_kib,
            parallelism=settings.password_argon2_parallelism,
        )

    def hash(self, password: str) -> str:
        """A PHC-format argon2id hash of ``password`` with a fresh salt."""
        return self._hasher.hash(password)

    def verify(self, stored: str, password: str) -> bool:
        """Whether ``password`` matches ``stored``; False for a malformed hash too."""
        try:
            return self._hasher.verify(stored, password)
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return False

    def needs_rehash(self, stored: str) -> bool:
        """Whether ``stored`` was made with other parameters than the current ones."""
        try:
            return self._hasher.check_needs_rehash(stored)
        except InvalidHashError:
            return True

    def waste_time(self, password: str) -> None:
        """Verify against a dummy hash: an unknown account costs what a known one does."""
        self.verify(self._dummy, password)

    @cached_property
    def _dummy(self) -> str:
        return self._hasher.hash("doorstep-dummy-password-for-timing")


@dataclass(frozen=True, slots=True)
class Weakness:
    """One rule a password breaks, with the message to show."""

    rule: str
    message: str


def _repeats(text: str) -> bool:
    """True when ``text`` is a short unit repeated (``abcabcabcabc``)."""
    size = len(text)
    return any(
        size % unit == 0 and text == text[:unit] * (size // unit)
        for unit in range(1, size // 2 + 1)
    )


def strength_problems(
    password: str,
    *,
    min_length: int,
    email: str | None = None,
    phone: str | None = None,
) -> list[Weakness]:
    """Every strength rule ``password`` breaks (empty: strong enough)."""
    found: list[Weakness] = []
    if len(password) < min_length:
        found.append(Weakness("too_short", MESSAGES["too_short"].format(min=min_length)))
    if len(password) > MAX_LENGTH:
        found.append(Weakness("too_long", MESSAGES["too_long"]))
    lowered = password.lower()
    core = _EDGES.sub("", lowered)
    if lowered in COMMON_PASSWORDS or core in BASE_WORDS or lowered in BASE_WORDS:
        found.append(Weakness("common_password", MESSAGES["common_password"]))
    if _contains_identifier(lowered, email=email, phone=phone):
        found.append(Weakness("contains_identifier", MESSAGES["contains_identifier"]))
    if len(set(password)) < MIN_DISTINCT:
        found.append(
            Weakness("too_few_distinct_characters", MESSAGES["too_few_distinct_characters"])
        )
    elif len(password) >= 2 * MIN_DISTINCT and _repeats(lowered):
        found.append(Weakness("repeated_pattern", MESSAGES["repeated_pattern"]))
    return found


def _contains_identifier(lowered: str, *, email: str | None, phone: str | None) -> bool:
    if email:
        local = email.split("@", 1)[0].lower()
        if len(local) >= 3 and local in lowered:
            return True
    if phone:
        digits = phone.lstrip("+")
        # The national part is what people type: its last 7 digits are enough to spot it.
        if len(digits) >= 7 and digits[-7:] in re.sub(r"\D", "", lowered):
            return True
    return False
