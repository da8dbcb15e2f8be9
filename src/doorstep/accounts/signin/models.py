"""Rate limits: the ``account_rate_limits`` table.

A bucket is HMAC-SHA-256 (deployment secret) of a client address or a sign-in
identifier, never the value itself; :mod:`.ratelimit` counts in it.
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from doorstep.accounts.account.datamap import auth_state
from doorstep.core.models import Base
from doorstep.vocabulary import LegalBasis, not_personal


class RateLimitBucket(Base):
    """A fixed-window counter keyed by a keyed hash of a client address or identifier."""

    __tablename__ = "account_rate_limits"

    bucket: Mapped[bytes] = mapped_column(
        sa.LargeBinary,
        primary_key=True,
        info=auth_state(
            "user.unique_id.pseudonymous",
            "HMAC-SHA-256 (deployment secret) of a client address or sign-in identifier.",
            retention="rate_limit_window",
            basis=LegalBasis.LEGITIMATE_INTERESTS,
        ),
    )
    window_start: Mapped[datetime] = mapped_column(
        info=not_personal("start of the counting window; means nothing without the bucket")
    )
    hits: Mapped[int] = mapped_column(
        sa.Integer, info=not_personal("attempts counted in the window")
    )
