"""Shorthands for the data-map declarations of the accounts tables.

* :func:`registration` — registration data: kept until the account is
  deregistered, then deleted by the erasure job (retention ``until_deregistration``);
* :func:`tombstone` — the pseudonymous remainder (id, status, times) kept until
  the subject is erased (retention ``until_erasure``);
* :func:`auth_state` — short-lived authentication state with its own retention rule;
  :func:`account_fk` — the ``account_id`` column of such state.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from doorstep.vocabulary import ExportDecision, LegalBasis, personal

#: Retention rule of registration data (datamap.yaml).
UNTIL_DEREGISTRATION = "until_deregistration"

_ACCOUNT_PURPOSES = ("account.management", "customer.support", "privacy.rights")


def registration(
    category: str,
    description: str,
    *,
    purposes: Sequence[str] = _ACCOUNT_PURPOSES,
    clauses: Sequence[str] = ("CPE-I.i.1.a", "CPE-I.i.1.d"),
    secret: bool = False,
    subject: str = "customer",
    export: ExportDecision | None = None,
) -> dict[str, Any]:
    """``info=`` of a column deleted when the account is deregistered."""
    return personal(
        category,
        subject=subject,
        purposes=list(purposes),
        legal_basis=LegalBasis.CONTRACT,
        retention=UNTIL_DEREGISTRATION,
        clauses=list(clauses),
        secret=secret,
        description=description,
        export=export,
    )


def tombstone(category: str, description: str) -> dict[str, Any]:
    """``info=`` of a column kept (pseudonymous) until the subject is erased."""
    return personal(
        category,
        purposes=list(_ACCOUNT_PURPOSES),
        legal_basis=LegalBasis.CONTRACT,
        retention="until_erasure",
        clauses=["CPE-I.i.1.b", "CPE-V.5.d"],
        description=description,
    )


def auth_state(
    category: str,
    description: str,
    *,
    retention: str,
    basis: LegalBasis = LegalBasis.CONTRACT,
) -> dict[str, Any]:
    """``info=`` of short-lived sign-in state (sessions, codes, rate limits, flows)."""
    return personal(
        category,
        purposes=["account.authentication"],
        legal_basis=basis,
        retention=retention,
        clauses=["CPE-I.i.1.a"],
        description=description,
    )


def account_fk(retention: str) -> Mapped[uuid.UUID]:
    """The indexed ``account_id`` of short-lived sign-in state, deleted with the account."""
    return mapped_column(
        sa.ForeignKey("accounts.id", ondelete="CASCADE"),
        index=True,
        info=auth_state(
            "user.unique_id.pseudonymous", "The account this belongs to.", retention=retention
        ),
    )
