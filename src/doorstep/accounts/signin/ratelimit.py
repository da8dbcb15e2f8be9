"""Fixed-window attempt counters in PostgreSQL, keyed by a keyed hash.

Counters live in the database, so every ``serve`` replica sees the same counts.
A key is ``HMAC-SHA-256(derived secret, kind ‖ value)``: a client address or an
e-mail address never reaches the table, and without the deployment secret the
hash cannot be reversed by trying every IPv4 address.  One statement counts a
hit (an upsert that restarts an expired window), so concurrent attempts never
lose a count.

Kinds in use: ``addr`` (client address, every attempt counts), ``signin``
(identifier, failed sign-ins only: the per-account lockout, keyed by the
identifier so that unknown identifiers lock out the same way and a lockout
reveals nothing), ``reset`` (password-reset requests per identifier), ``code``
(codes sent per account), ``reauth`` (wrong passwords per account id).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import Session

from doorstep.accounts.context import AccountContext
from doorstep.accounts.exceptions import TooManyAttemptsError
from doorstep.accounts.signin.models import RateLimitBucket

_HIT = sa.text(
    """
    INSERT INTO account_rate_limits AS b (bucket, window_start, hits)
    VALUES (:bucket, :now, 1)
    ON CONFLICT (bucket) DO UPDATE SET
        hits = CASE WHEN b.window_start <= :cutoff THEN 1 ELSE b.hits + 1 END,
        window_start = CASE WHEN b.window_start <= :cutoff THEN :now ELSE b.window_start END
    RETURNING hits, window_start
    """
)


@dataclass(frozen=True, slots=True)
class Limit:
    """At most ``limit`` hits per ``window``."""

    limit: int
    window: timedelta


@dataclass(frozen=True, slots=True)
class Count:
    """Hits in the current window and when it ends."""

    hits: int
    window_ends: datetime

    def retry_after(self, now: datetime) -> int:
        """Seconds until the window ends (at least 1)."""
        return max(1, math.ceil((self.window_ends - now).total_seconds()))


def bucket(ctx: AccountContext, kind: str, value: str) -> bytes:
    """The stored key of ``value`` (an address, identifier or id) for ``kind``."""
    return ctx.keyed_hash("rate-limit", f"{kind}\x00{value}".encode())


def hit(session: Session, key: bytes, limit: Limit, *, now: datetime) -> Count:
    """Count one hit in ``key``'s window and return the count after it."""
    hits, start = session.execute(
        _HIT, {"bucket": key, "now": now, "cutoff": now - limit.window}
    ).one()
    return Count(int(hits), start + limit.window)


def current(session: Session, key: bytes, limit: Limit, *, now: datetime) -> Count:
    """The hits in ``key``'s current window (0 when it has expired), without counting one."""
    row = session.get(RateLimitBucket, key)
    if row is None or row.window_start <= now - limit.window:
        return Count(0, now + limit.window)
    return Count(row.hits, row.window_start + limit.window)


def reset(session: Session, key: bytes) -> None:
    """Forget ``key``'s hits (a successful sign-in clears the failure count)."""
    session.execute(sa.delete(RateLimitBucket).where(RateLimitBucket.bucket == key))


def enforce(
    session: Session, key: bytes, limit: Limit, *, now: datetime, scope: str, count: bool = True
) -> Count:
    """Count a hit (``count=True``) and raise :class:`TooManyAttemptsError` past the limit.

    With ``count=False`` only checks whether the window is already full.
    """
    state = hit(session, key, limit, now=now) if count else current(session, key, limit, now=now)
    over = state.hits > limit.limit if count else state.hits >= limit.limit
    if over:
        raise TooManyAttemptsError(state.retry_after(now), scope=scope)
    return state


def address_limit(ctx: AccountContext) -> Limit:
    """Attempts per client address (sign-in, sign-up, codes, resets)."""
    settings = ctx.settings
    return Limit(
        settings.account_address_max_attempts,
        timedelta(seconds=settings.account_address_window_seconds),
    )


def lockout_limit(ctx: AccountContext) -> Limit:
    """Failed sign-ins per identifier before the lockout."""
    settings = ctx.settings
    return Limit(
        settings.account_signin_max_failures, timedelta(seconds=settings.account_lockout_seconds)
    )


def count_address(session: Session, ctx: AccountContext, address: str | None) -> None:
    """Count one attempt from ``address`` (None: unknown, not limited) and enforce the limit."""
    if address:
        enforce(
            session,
            bucket(ctx, "addr", address),
            address_limit(ctx),
            now=ctx.clock.now(),
            scope="client_address",
        )


def prune(session: Session, *, before: datetime) -> int:
    """Delete buckets whose window started before ``before``; return how many."""
    result = session.execute(
        sa.delete(RateLimitBucket).where(RateLimitBucket.window_start < before)
    )
    return int(getattr(result, "rowcount", 0) or 0)
