"""Per element: what an access or portability export shows of it.

Every personal element carries an :class:`ExportDecision`
(``personal(..., export=…)``, :class:`~.declarations.PersonalData`):

* :data:`VALUE` — the stored value, as it is (the default);
* :func:`described` — a sentence saying that the element is set, and when
  (``"A password is set, last changed on {password_changed_at}."``), never the
  value; the sentence's ``{column}`` fields name columns of the same table that
  an export holds themselves (the registry checks it);
* :func:`omitted` — left out, for the recorded reason (the export's README names it).

Credentials — every fideslang category under ``user.authorization``: passwords
and their hashes, hashes of session tokens and one-time codes, provider tokens
— are never exported nor returned as values: ``personal()`` omits them unless
the declaration describes them, and the registry refuses a credential declared
:data:`VALUE`.  The decision is recorded in the record of processing, in
``doorstep datamap check`` and in the README of every export.
"""

from __future__ import annotations

import string
from dataclasses import dataclass
from enum import StrEnum

#: The taxonomy branch of credentials (fideslang): never exported as a value.
CREDENTIALS = "user.authorization"
#: Why a credential is omitted when its declaration says nothing more.
CREDENTIAL_REASON = (
    "a credential (or a hash of one): it is never shown back, not even to you, so that "
    "a copy of your data cannot be used to sign in or to reach your devices"
)


class ExportAs(StrEnum):
    """How an export shows an element."""

    VALUE = "value"
    DESCRIPTION = "description"
    OMITTED = "omitted"


@dataclass(frozen=True, slots=True)
class ExportDecision:
    """How exports show one element; ``reason`` is required unless it is the value.

    ``sentence`` (descriptions only) is a :meth:`str.format` template whose fields
    are column names of the element's table; instants are written as dates.
    """

    how: ExportAs
    reason: str = ""
    sentence: str = ""

    def __post_init__(self) -> None:
        if self.how is not ExportAs.VALUE and not self.reason.strip():
            raise ValueError(f"an export decision {self.how.value!r} needs a recorded reason")
        if (self.how is ExportAs.DESCRIPTION) != bool(self.sentence.strip()):
            raise ValueError("a sentence is given exactly when the element is described")

    @property
    def fields(self) -> tuple[str, ...]:
        """The columns the sentence names (empty unless described)."""
        return tuple(
            name for _, name, _, _ in string.Formatter().parse(self.sentence) if name is not None
        )


#: The stored value, as it is.
VALUE = ExportDecision(ExportAs.VALUE)


def described(sentence: str, *, reason: str) -> ExportDecision:
    """Shown as ``sentence`` when set (null when not), never as its value; ``reason`` says why."""
    return ExportDecision(ExportAs.DESCRIPTION, reason=reason, sentence=sentence)


def omitted(reason: str) -> ExportDecision:
    """Left out of every export; ``reason`` says why (the export's README repeats it)."""
    return ExportDecision(ExportAs.OMITTED, reason=reason)


def is_credential(category: str) -> bool:
    """Whether the fideslang ``category`` is a credential (``user.authorization`` or below)."""
    return category == CREDENTIALS or category.startswith(CREDENTIALS + ".")


def default_for(category: str) -> ExportDecision:
    """The decision of an element that declares none: omitted for credentials, else the value."""
    return omitted(CREDENTIAL_REASON) if is_credential(category) else VALUE
