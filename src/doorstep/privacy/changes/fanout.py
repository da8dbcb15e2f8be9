"""The notice run of a major version: every affected subscriber told once (CPE-VII.3, CORP-8.2).

Affected subscribers are every account not deregistered.  Each gets an e-mail
describing the specific changes (``policy.changed``) and, where their mobile
number is proven, an SMS (``policy.changed_sms``); the privacy center and the
app show the notice until they respond (:mod:`.notices`).  The run works in
batches, one transaction each: a batch claims its subscribers by inserting
their ``policy_notices`` rows (``ON CONFLICT DO NOTHING … RETURNING``) and
queues the messages of exactly the rows it inserted, so a run killed half-way
(or two runs at once) never tells anyone twice, and the next run carries on.
Every use of an address passes the purpose gate (``privacy.rights``).
"""

from __future__ import annotations

import uuid

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from doorstep.accounts.account.models import Account, AccountStatus
from doorstep.audit.entries import AuditEntry, system_actor
from doorstep.notify.services import queue_email, queue_sms
from doorstep.privacy.changes.models import PolicyNotice
from doorstep.privacy.policies import versions
from doorstep.services import Services

#: Telling subscribers of a change to the policy is part of keeping their rights (Art. 12-13).
PURPOSE = "privacy.rights"
ACTOR = system_actor("changes.notify")
#: How many changes an e-mail lists before it points to the policy page for the rest.
MAX_LISTED = 20


def change_lines(version: versions.Version) -> str:
    """The specific changes, one per line, major ones first (what the e-mail lists)."""
    ordered = sorted(version.changes, key=lambda change: not change.major)
    lines = [f"- {change.describe()}" for change in ordered[:MAX_LISTED]]
    if len(ordered) > MAX_LISTED:
        lines.append(f"- … and {len(ordered) - MAX_LISTED} more (see the policy page)")
    return "\n".join(lines) or "- (see the policy page)"


def notify_batch(session: Session, services: Services, version_id: str, *, size: int) -> int:
    """Tell the next ``size`` subscribers not yet told of ``version_id``; return how many."""
    version = versions.get(session, version_id)
    if version is None or not version.major:
        return 0
    clock = services.runtime.clock
    candidates = (
        session.execute(
            sa.select(Account.id)
            .where(
                Account.status != AccountStatus.DEREGISTERED,
                ~sa.exists().where(
                    PolicyNotice.version_id == version_id, PolicyNotice.subject_id == Account.id
                ),
            )
            .order_by(Account.id)
            .limit(size)
        )
        .scalars()
        .all()
    )
    if not candidates:
        return 0
    now = clock.now()
    claimed = session.scalars(
        insert(PolicyNotice)
        .values(
            [
                {
                    "version_id": version_id,
                    "subject_id": subject,
                    "channels": "",
                    "notified_at": now,
                }
                for subject in candidates
            ]
        )
        .on_conflict_do_nothing()
        .returning(PolicyNotice.subject_id)
    ).all()
    params = {
        "version": version.id,
        "effective": version.effective_at.date().isoformat(),
        "summary": version.summary[:500],
        "changes": change_lines(version)[:1500],
    }
    for subject in claimed:
        _tell(session, services, version_id, subject, params)
    return len(candidates)


def _tell(
    session: Session,
    services: Services,
    version_id: str,
    subject: uuid.UUID,
    params: dict[str, str],
) -> None:
    account = session.get(Account, subject)
    assert account is not None
    clock = services.runtime.clock
    access = services.gate.for_subject(session, subject, actor=ACTOR)
    channels: list[str] = []
    if account.email is not None and access.allows("accounts.email", PURPOSE):
        access.check("accounts.email", PURPOSE, audit=True)
        queue_email(
            session,
            subject_id=subject,
            to=account.email,
            template="policy.changed",
            params=params,
            clock=clock,
            locale=account.language,
        )
        channels.append("email")
    if (
        account.phone is not None
        and account.phone_verified_at is not None
        and access.allows("accounts.phone", PURPOSE)
    ):
        access.check("accounts.phone", PURPOSE, audit=True)
        queue_sms(
            session,
            subject_id=subject,
            to=account.phone,
            template="policy.changed_sms",
            params={"version": params["version"], "effective": params["effective"]},
            clock=clock,
            locale=account.language,
        )
        channels.append("sms")
    session.execute(
        sa.update(PolicyNotice)
        .where(PolicyNotice.version_id == version_id, PolicyNotice.subject_id == subject)
        .values(channels=",".join(channels) or "center")
    )
    AuditEntry(
        action="policy.notified",
        actor=ACTOR,
        subject_id=subject,
        purpose=PURPOSE,
        details={"policy_version": version_id, "channels": ":".join(channels) or "center"},
    ).write(session)


def notify_all(services: Services, version_id: str) -> int:
    """Run batches, each in its own transaction, until everyone is told; return how many."""
    runtime = services.runtime
    size = runtime.settings.policy_notice_batch
    total = 0
    while True:
        with runtime.sessions.begin() as session:
            done = notify_batch(session, services, version_id, size=size)
        if done == 0:
            return total
        total += done
