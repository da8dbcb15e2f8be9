"""The closed vocabulary of legal holds: on which legal ground data is kept past its period.

A hold names one ground (the code is stored, audited and shown), the authority
that requires it and that authority's reference (CPE-IV.3.b: "an extension of
the retention period is required or permitted by law" — never a free-text
reason, so that no personal data slips into the record).
"""

from __future__ import annotations

from enum import StrEnum

from doorstep.locale import _


class HoldBasis(StrEnum):
    """The legal ground that keeps the data."""

    #: Tax or accounting law keeps the records (invoices, orders) for its period.
    TAX_RETENTION = "TAX_RETENTION"
    #: Another statute keeps the data for a period of its own (commercial, telecoms law).
    STATUTORY_RETENTION = "STATUTORY_RETENTION"
    #: Legal proceedings are pending or reasonably expected (litigation hold).
    LITIGATION = "LITIGATION"
    #: A court ordered the data kept.
    COURT_ORDER = "COURT_ORDER"
    #: A law-enforcement authority ordered the data kept (criminal investigation).
    LAW_ENFORCEMENT = "LAW_ENFORCEMENT"
    #: A supervisory authority's investigation or order.
    REGULATOR = "REGULATOR"


#: What the requester and the console are told, per ground; message ids, translated where shown.
BASIS_TEXT: dict[HoldBasis, str] = {
    HoldBasis.TAX_RETENTION: _("tax or accounting law requires us to keep these records"),
    HoldBasis.STATUTORY_RETENTION: _("a law requires us to keep this data for a period of its own"),
    HoldBasis.LITIGATION: _("legal proceedings are pending or expected"),
    HoldBasis.COURT_ORDER: _("a court ordered us to keep this data"),
    HoldBasis.LAW_ENFORCEMENT: _("a law-enforcement authority ordered us to keep this data"),
    HoldBasis.REGULATOR: _("a supervisory authority ordered us to keep this data"),
}
