"""Idempotent consent decisions: the app's ``Idempotency-Key``.

A phone on a bad network repeats requests, and a subscriber taps twice.  The
app sends an ``Idempotency-Key`` (any 1-255 visible ASCII characters, a UUID in
practice) with each grant or withdrawal; :func:`once` records the decision the
first time and answers every repetition with that same ledger event.  The key
is the subscriber's own (two subscribers may use the same key), and it is
remembered for the pack's ``consent_request_key`` period, then swept; a key
older than that is treated as new.

The same key with another request (another purpose, decision or notice) is
refused with :class:`IdempotencyKeyReusedError` (422), and nothing changes.
Two requests with one key at the same instant are serialised by a
transaction-scoped advisory lock on (subject, key): the second waits for the
first to commit and then replays it.
"""

from __future__ import annotations

import hashlib
import json
import re
import uuid
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from doorstep.core.errors import InvalidInputError
from doorstep.privacy.consent.models import REQUEST_KEY_RULE, ConsentRequestKey
from doorstep.privacy.consent.services import ConsentRecord, get_event
from doorstep.privacy.datamap.pack import PolicyPack

#: The header that carries the key (draft-ietf-httpapi-idempotency-key-header).
HEADER = "Idempotency-Key"
#: What a key may be: visible ASCII, 1 to 255 characters.
KEY_PATTERN = re.compile(r"^[\x21-\x7e]{1,255}$")
#: Namespace of the advisory locks on (subject, key) ("CIDK").
_LOCK_NAMESPACE = 0x4349444B
_LOCK = sa.text("SELECT pg_advisory_xact_lock(:namespace, hashtext(:key))")


class IdempotencyKeyReusedError(InvalidInputError):
    """The key was already used for another request; nothing was recorded."""

    code = "idempotency-key-reused"
    title = "Idempotency key reused"


def fingerprint(request: Mapping[str, object]) -> str:
    """SHA-256 (hex) of a request's canonical JSON (purpose, decision, notice hash)."""
    canonical = json.dumps(dict(request), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def kept_for(pack: PolicyPack) -> timedelta:
    """How long keys are remembered: the period of the pack's ``consent_request_key`` rule."""
    return pack.retention[REQUEST_KEY_RULE].period


def check_key(key: str) -> str:
    """``key`` when it is a valid key; :class:`InvalidInputError` naming the header otherwise."""
    if not KEY_PATTERN.match(key):
        raise InvalidInputError(
            "the Idempotency-Key must be 1 to 255 visible ASCII characters",
            errors=[{"field": HEADER, "rule": "idempotency_key"}],
        )
    return key


def once(
    session: Session,
    *,
    subject_id: uuid.UUID,
    key: str,
    request: Mapping[str, object],
    now: datetime,
    pack: PolicyPack,
    decide: Callable[[], ConsentRecord],
) -> tuple[ConsentRecord, bool]:
    """Run ``decide`` once per (subject, key): ``(record, replayed)``.

    ``request`` is what identifies the request (its fingerprint is compared on
    every repetition).  The first call runs ``decide`` and remembers its event in
    the caller's transaction, so a decision and its key commit or vanish together.
    """
    check_key(key)
    digest = fingerprint(request)
    session.execute(_LOCK, {"namespace": _LOCK_NAMESPACE, "key": f"{subject_id}/{key}"})
    found = session.execute(
        sa.select(ConsentRequestKey.fingerprint, ConsentRequestKey.consent_event_id).where(
            ConsentRequestKey.subject_id == subject_id,
            ConsentRequestKey.key == key,
            ConsentRequestKey.created_at > now - kept_for(pack),
        )
    ).first()
    if found is not None:
        if found.fingerprint != digest:
            raise IdempotencyKeyReusedError(
                "this Idempotency-Key was used for another request",
                errors=[{"field": HEADER, "rule": "same_request_per_key"}],
            )
        return get_event(session, found.consent_event_id), True
    record = decide()
    values = {
        "subject_id": subject_id,
        "key": key,
        "fingerprint": digest,
        "consent_event_id": record.id,
        "created_at": now,
    }
    session.execute(
        insert(ConsentRequestKey)
        .values(**values)
        .on_conflict_do_update(  # an expired key not swept yet: it starts again
            index_elements=["subject_id", "key"],
            set_={name: values[name] for name in ("fingerprint", "consent_event_id", "created_at")},
        )
    )
    return record, False
