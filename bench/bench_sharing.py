"""Sharing gate: ``evaluate()`` checks per second and µs per check, and released flows.

* evaluate: :meth:`SharingGate.evaluate` (pure, no database) for a processor of
  the reference pack (``smtp_relay``, ``notification.delivery``), a partner
  relying on the subject's consent, and an authority with a legal demand;
  baseline: a bare ``(recipient, purpose) in dict`` look-up of the same keys in
  the same loop, in the same run.
* release: :meth:`SharingGate.release` for the processor (payload cut, register
  row and audit event written), 100 per transaction, committed.

Target of the issue: <= 5 µs per check.
"""

from __future__ import annotations

import dataclasses
import uuid
from datetime import date
from types import MappingProxyType

from bench.harness import BenchContext, Figure, per_second
from doorstep.audit.entries import system_actor
from doorstep.privacy.datamap.pack import default_pack
from doorstep.privacy.datamap.pack_recipients import (
    Agreement,
    AgreementType,
    RecipientPolicy,
    Role,
    Share,
)
from doorstep.privacy.sharing.gate import SharingGate
from doorstep.privacy.sharing.grounds import DemandScope
from doorstep.privacy.subjects.models import Subject, SubjectKind
from doorstep.schema import metadata

ACTOR = system_actor("bench")
PROCESSOR = ("smtp_relay", "notification.delivery")
PARTNER = ("repair_shop", "customer.support")
AUTHORITY = ("authorities", "privacy.rights")
PAYLOAD = {"outbox.email": "bench@example.org", "outbox.params.code": "123456"}


def _gate() -> SharingGate:
    """The reference registry plus one business partner that needs consent."""
    pack = default_pack()
    partner = RecipientPolicy(
        PARTNER[0],
        Role.BUSINESS_PARTNER,
        "CN",
        Agreement(AgreementType.DATA_SHARING, "AGR-BENCH", date(2020, 1, 1)),
        "",
        MappingProxyType({PARTNER[1]: Share(PARTNER[1], frozenset({"accounts.email"}))}),
    )
    sharing = MappingProxyType({**pack.sharing, PARTNER[0]: partner})
    return SharingGate.from_pack(dataclasses.replace(pack, sharing=sharing), metadata)


def run(ctx: BenchContext) -> list[Figure]:
    """Measure and return the figures."""
    checks = 200_000 if ctx.quick else 2_000_000
    releases = 2_000 if ctx.quick else 20_000
    gate = _gate()
    today = ctx.runtime.clock.now().date()
    demand = DemandScope(uuid.uuid4(), *AUTHORITY, frozenset({"accounts.email"}))
    index = {
        (key, purpose): True for key, policy in gate.recipients.items() for purpose in policy.shares
    }
    baseline = per_second(lambda: PROCESSOR in index, checks)
    figures: list[Figure] = []
    cases = (
        ("processor contract", PROCESSOR, {}),
        ("consent", PARTNER, {"consent": True}),
        ("legal demand", AUTHORITY, {"demand": demand}),
    )
    for label, (recipient, purpose), ground in cases:
        gate.evaluate(recipient, purpose, today=today, **ground)  # type: ignore[arg-type]  # raises if refused

        def check(r: str = recipient, p: str = purpose, g: dict[str, object] = ground) -> None:
            gate.evaluate(r, p, today=today, **g)  # type: ignore[arg-type]

        rate = per_second(check, checks)
        figures.append(
            Figure(
                f"evaluate ({label})",
                rate,
                "checks/s",
                baseline=baseline,
                baseline_name="bare dict look-up",
            )
        )
        figures.append(
            Figure(f"evaluate ({label}), time each", 1e6 / rate, "µs/check", target="<= 5 µs")
        )

    with ctx.runtime.sessions.begin() as session:
        subject = Subject(kind=SubjectKind.SUBSCRIBER)
        session.add(subject)
        session.flush()
        subject_id = subject.id
    clock = ctx.runtime.clock

    def batch() -> None:
        with ctx.runtime.sessions.begin() as session:
            for _ in range(100):
                gate.release(
                    session,
                    subject_id=subject_id,
                    recipient=PROCESSOR[0],
                    purpose=PROCESSOR[1],
                    payload=PAYLOAD,
                    clock=clock,
                    actor=ACTOR,
                )

    rate = per_second(batch, releases // 100) * 100
    figures.append(Figure("release (register row + audit), 100 per transaction", rate, "flows/s"))
    return figures
