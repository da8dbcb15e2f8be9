"""What a column says about itself.

Every mapped column carries exactly one declaration in ``Column.info["privacy"]``:

* :class:`PersonalData` — it can hold personal data; says what, whose, why, on
  which legal basis, for how long, where, shared with whom, and which clauses of
  the policy it serves;
* :class:`NotPersonal` — it cannot, and says why (so the claim is reviewable).

Each personal element also says what an access or portability export shows of
it (``export=``, :mod:`.export_decisions`): its value, a sentence, or nothing;
a column that is not personal may be included in exports as context
(``not_personal(..., export=True)``: the ids and times that make rows join and
mean something).

The registry test fails for any column with neither.  Later areas add fields
here (e.g. ``secret`` drives envelope encryption) rather than new mechanisms.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from doorstep.vocabulary.export_decisions import VALUE, ExportDecision, default_for

INFO_KEY = "privacy"


class LegalBasis(StrEnum):
    """The six lawful bases of GDPR Art. 6(1)."""

    CONSENT = "consent"
    CONTRACT = "contract"
    LEGAL_OBLIGATION = "legal_obligation"
    VITAL_INTERESTS = "vital_interests"
    PUBLIC_INTEREST = "public_interest"
    LEGITIMATE_INTERESTS = "legitimate_interests"


@dataclass(frozen=True, slots=True)
class PersonalData:
    """Declaration of a personal-data element (one column).

    ``category`` and ``subject`` are fideslang keys; ``purposes``, ``retention``,
    ``region`` and ``recipients`` are keys of the policy pack; ``clauses`` are ids
    from clauses.yaml.  ``secret`` marks fields stored encrypted with the
    subject's data key.  ``export`` says what exports show of it (see
    :mod:`.export_decisions`).
    """

    category: str
    subject: str
    purposes: tuple[str, ...]
    legal_basis: LegalBasis
    retention: str
    region: str = "primary"
    recipients: tuple[str, ...] = ()
    clauses: tuple[str, ...] = ()
    secret: bool = False
    description: str = ""
    export: ExportDecision = VALUE


@dataclass(frozen=True, slots=True)
class NotPersonal:
    """Declaration that a column cannot hold personal data, with the reason.

    ``exported``: exports include the column as context of the subject's rows
    (an id, a time, an action), described in their README by ``reason``.
    """

    reason: str
    exported: bool = False


Declaration = PersonalData | NotPersonal


def personal(
    category: str,
    *,
    purposes: tuple[str, ...] | list[str],
    legal_basis: LegalBasis,
    retention: str,
    subject: str = "customer",
    region: str = "primary",
    recipients: tuple[str, ...] | list[str] = (),
    clauses: tuple[str, ...] | list[str] = (),
    secret: bool = False,
    description: str = "",
    export: ExportDecision | None = None,
    **column_info: Any,
) -> dict[str, Any]:
    """``info=`` for a column holding personal data (see :class:`PersonalData`).

    ``export`` defaults to the value, or to omitted for a credential
    (:func:`~.export_decisions.default_for`).
    """
    declaration = PersonalData(
        category=category,
        subject=subject,
        purposes=tuple(purposes),
        legal_basis=legal_basis,
        retention=retention,
        region=region,
        recipients=tuple(recipients),
        clauses=tuple(clauses),
        secret=secret,
        description=description,
        export=default_for(category) if export is None else export,
    )
    return {INFO_KEY: declaration, **column_info}


def not_personal(reason: str, *, export: bool = False, **column_info: Any) -> dict[str, Any]:
    """``info=`` for a column that cannot hold personal data; ``reason`` says why.

    ``export=True`` includes it in exports as context (ids and times that make
    the subject's rows join and mean something; never a secret).
    """
    if not reason.strip():
        raise ValueError("a not_personal declaration needs a reason")
    return {INFO_KEY: NotPersonal(reason=reason, exported=export), **column_info}


@dataclass(frozen=True)
class ColumnDeclaration:
    """One column of the schema with its declaration (None when undeclared)."""

    table: str
    column: str
    declaration: Declaration | None = field(default=None)

    @property
    def element(self) -> str:
        """``table.column``, the element's name in the data map."""
        return f"{self.table}.{self.column}"
