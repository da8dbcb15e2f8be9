"""Binding ledger, PPPoE credentials and claim limits (re-exported by :mod:`.models`).

* ``device_bindings`` is the ledger of CPE-I.ii.2.b: one row per binding, with
  ``bound_at`` and, once it ends, ``unbound_at`` and ``end_reason``.  The open row
  (``unbound_at IS NULL``) is the device's owner; a partial unique index allows one,
  so the first account to bind owns the device even under concurrent claims.  The
  database refuses every change but closing an open row once (migration 0009), and
  DELETE while the subject exists: rows leave only when the subject is erased.
* ``device_pppoe`` holds the owner's PPPoE account and password, each sealed with the
  owner's data key (decision 0006), under the binding they were set in; the row is
  deleted in the unbind transaction.
* ``device_claim_limits`` counts wrong claim codes per subscriber for the lockout.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from doorstep.core.models import Base, enum_type
from doorstep.devices._declare import PPPOE_RULE, pppoe
from doorstep.privacy.retention.binding import (
    DELETE,
    Binding,
    ErasedWithSubject,
    Via,
    retention_info,
)
from doorstep.vocabulary import LegalBasis, described, not_personal, personal

_LEDGER_PURPOSES = ("device.binding", "device.product_functions", "privacy.rights")
_LEDGER_CLAUSES = ("CPE-I.ii.2.b", "CPE-V.5.c")


def _ledger(category: str, description: str) -> dict[str, object]:
    return personal(
        category,
        purposes=list(_LEDGER_PURPOSES),
        legal_basis=LegalBasis.CONTRACT,
        retention="until_erasure",
        clauses=list(_LEDGER_CLAUSES),
        description=description,
    )


class BindMethod(StrEnum):
    """How the subscriber proved they hold the device: scanned its QR code or typed its code."""

    QR = "qr"
    MANUAL = "manual"


class BindingEnd(StrEnum):
    """Why a binding ended."""

    UNBOUND = "unbound"
    """The owner unbound the device."""
    ANONYMISED = "anonymised"
    """The device was offline for the registration period and its record was anonymised."""
    RETURNED = "returned"
    """Staff marked the device returned to the operator (decision 0042)."""
    RESOLD = "resold"
    """Staff marked the device resold to someone else (decision 0042)."""


class DeviceBinding(Base):
    """One binding of a device to an account; the open one is the owner (the ledger)."""

    __tablename__ = "device_bindings"

    id: Mapped[uuid.UUID] = mapped_column(
        primary_key=True,
        default=uuid.uuid4,
        info=not_personal("random id of the ledger row", export=True),
    )
    device_id: Mapped[uuid.UUID] = mapped_column(
        sa.ForeignKey("devices.id"),
        info=_ledger("user.unique_id.pseudonymous", "Which device was bound."),
    )
    subject_id: Mapped[uuid.UUID] = mapped_column(
        sa.ForeignKey("subjects.id", ondelete="CASCADE"),
        info=_ledger("user.unique_id.pseudonymous", "The account the device was bound to."),
    )
    method: Mapped[BindMethod] = mapped_column(
        enum_type(BindMethod, "device_bind_method"),
        info=_ledger("user.account", "Whether the QR code was scanned or the code typed."),
    )
    bound_at: Mapped[datetime] = mapped_column(
        info=_ledger("user.account", "When the device was bound to the account.")
    )
    unbound_at: Mapped[datetime | None] = mapped_column(
        info=_ledger("user.account", "When the binding ended.")
    )
    end_reason: Mapped[BindingEnd | None] = mapped_column(
        enum_type(BindingEnd, "device_binding_end"),
        info=not_personal(
            "unbound, anonymised, returned or resold: one of four fixed reasons", export=True
        ),
    )

    __table_args__ = (
        sa.CheckConstraint("(unbound_at IS NULL) = (end_reason IS NULL)", name="end_has_reason"),
        sa.Index(
            "uq_device_bindings_open_device",
            "device_id",
            unique=True,
            postgresql_where=sa.text("unbound_at IS NULL"),
        ),
        # Every binding of a subject, ended ones included: the erasure's cascade and
        # the export's links read them all (migration 0014 replaced a partial index).
        sa.Index("ix_device_bindings_subject_id", "subject_id"),
        {"info": retention_info(Binding("until_erasure", ErasedWithSubject("subject_id")))},
    )


class DevicePppoe(Base):
    """The PPPoE credentials set during one binding, sealed with the owner's data key.

    Tied to the binding row, not to the device: they exist from the binding to the
    unbinding (CPE-I.iii.R2).  The unbind deletes them in its own transaction; the
    retention binding is the backstop that deletes any left under an ended binding.
    """

    __tablename__ = "device_pppoe"

    binding_id: Mapped[uuid.UUID] = mapped_column(
        sa.ForeignKey("device_bindings.id", ondelete="CASCADE"),
        primary_key=True,
        info=pppoe("user.unique_id.pseudonymous", "The binding (device and owner) they belong to."),
    )
    interface: Mapped[int] = mapped_column(
        info=not_personal(
            "instance number of Device.PPP.Interface the credentials are set on", export=True
        )
    )
    username: Mapped[bytes] = mapped_column(
        sa.LargeBinary,
        info=pppoe(
            "user.account.username",
            "Your PPPoE account name, encrypted with your own key.",
            secret=True,
        ),
    )
    password: Mapped[bytes] = mapped_column(
        sa.LargeBinary,
        info=pppoe(
            "user.authorization.credentials",
            "Your PPPoE password, encrypted with your own key.",
            secret=True,
            export=described(
                "A PPPoE password is stored, set on {set_at}.",
                reason="a credential: never shown back, so that a copy of your data cannot be "
                "used to reach the Internet in your name",
            ),
        ),
    )
    set_at: Mapped[datetime] = mapped_column(
        info=pppoe("user.account", "When the credentials were set on the device.")
    )

    __table_args__ = (
        {
            "info": retention_info(
                Binding(PPPOE_RULE, DELETE, trigger=Via("binding_id", "unbound_at"))
            )
        },
    )


class DeviceClaimLimit(Base):
    """Wrong claim codes of one subscriber in the current window, and their lockout."""

    __tablename__ = "device_claim_limits"

    subject_id: Mapped[uuid.UUID] = mapped_column(
        sa.ForeignKey("subjects.id", ondelete="CASCADE"),
        primary_key=True,
        info=personal(
            "user.unique_id.pseudonymous",
            purposes=["device.binding", "security.audit"],
            legal_basis=LegalBasis.LEGITIMATE_INTERESTS,
            retention="rate_limit_window",
            clauses=["CPE-I.ii.2.b", "CPE-IV.1.a"],
            description="Who tried wrong device codes (the lockout against guessing).",
        ),
    )
    window_start: Mapped[datetime] = mapped_column(
        info=not_personal("start of the counting window", export=True)
    )
    failures: Mapped[int] = mapped_column(
        info=not_personal("wrong codes in the window", export=True)
    )
    locked_until: Mapped[datetime | None] = mapped_column(
        info=not_personal("binding is refused to the subscriber until then", export=True)
    )

    __table_args__ = (
        {"info": retention_info(Binding("rate_limit_window", DELETE, trigger="window_start"))},
    )
