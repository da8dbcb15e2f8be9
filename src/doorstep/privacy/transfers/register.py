"""The transfer register and the data-location report, exported beside the record of processing.

* :func:`register_rows` — every registered transfer (ids, countries, recipient,
  purpose, element names, ground, whether de-identified, the notice's id), in
  time order; :func:`register_csv` writes them as CSV.
* :func:`locations` — every store region of the pack with its country, whether
  it is outside the country of collection and, if so, what covers it: the
  pack's ``transfer:`` safeguard and the mechanisms on record for that country
  (CPE-IV.1.d, CORP-5.6, CPE-I.i.1.c).  A foreign region with neither is flagged.
"""

from __future__ import annotations

import csv
import io
import uuid
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session

from doorstep.privacy.transfers.mechanisms import mechanisms
from doorstep.privacy.transfers.models import Transfer
from doorstep.privacy.transfers.policy import TransferPolicy


@dataclass(frozen=True, slots=True)
class RegisterRow:
    """One transfer, as the register shows it (no values of personal data)."""

    id: uuid.UUID
    subject_id: uuid.UUID | None
    origin: str
    destination: str
    recipient: str
    purpose: str
    elements: tuple[str, ...]
    mechanism: str
    mechanism_id: uuid.UUID | None
    deidentified: bool
    notice_id: uuid.UUID | None
    transferred_at: datetime


@dataclass(frozen=True, slots=True)
class Location:
    """Where one store region of the pack is, and what covers it when it is abroad."""

    region: str
    country: str
    foreign: bool
    safeguard: str
    mechanisms: tuple[str, ...]

    @property
    def covered(self) -> bool:
        """Whether the region is at home, or abroad with a safeguard or a mechanism."""
        return not self.foreign or bool(self.safeguard or self.mechanisms)


def register_rows(session: Session, *, since: datetime | None = None) -> list[RegisterRow]:
    """Every registered transfer (since ``since``), oldest first."""
    query = sa.select(Transfer).order_by(Transfer.transferred_at, Transfer.id)
    if since is not None:
        query = query.where(Transfer.transferred_at >= since)
    return [
        RegisterRow(
            row.id,
            row.subject_id,
            row.origin,
            row.destination,
            row.recipient,
            row.purpose,
            tuple(row.elements),
            row.mechanism.value,
            row.mechanism_id,
            row.deidentified,
            row.notice_id,
            row.transferred_at,
        )
        for row in session.scalars(query)
    ]


def register_csv(rows: Sequence[RegisterRow]) -> str:
    """The register as CSV with a header (elements joined by ``;``)."""
    out = io.StringIO()
    fields = list(RegisterRow.__dataclass_fields__)
    writer = csv.DictWriter(out, fieldnames=fields, lineterminator="\n")
    writer.writeheader()
    for row in rows:
        values = asdict(row)
        values["elements"] = ";".join(row.elements)
        values["transferred_at"] = row.transferred_at.isoformat()
        writer.writerow({key: "" if value is None else value for key, value in values.items()})
    return out.getvalue()


def locations(session: Session, policy: TransferPolicy) -> list[Location]:
    """Every store region with its country and cover, by region key."""
    recorded: dict[str, list[str]] = {}
    for mechanism in mechanisms(session):
        recorded.setdefault(mechanism.country, []).append(
            f"{mechanism.kind.value}:{mechanism.reference}"
        )
    found = []
    for region, country in sorted(policy.regions.items()):
        foreign = country != policy.home
        found.append(
            Location(
                region,
                country,
                foreign,
                policy.safeguards.get(region, ""),
                tuple(recorded.get(country, ())) if foreign else (),
            )
        )
    return found
