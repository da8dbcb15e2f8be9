"""Incidents on the fleet: who an incident of one device model affects, and the notice fan-out.

* affected subjects of an incident spanning every device of one model (the
  fleet's routers, ``DR-1000``, bound at any time): :func:`open_incident` in one
  transaction — the plan's tasks, the one ``INSERT … SELECT`` of
  :mod:`doorstep.privacy.incidents.affected` with each subject's jurisdiction,
  the obligations — against a bare ``SELECT count(DISTINCT subject_id)`` of the
  same join measured in the same run (issue 16 target: <= 5 s);
* the same computation again (idempotent: nothing new, everything looked at);
* notices queued per second by the fan-out (:func:`notify_batch`, one
  transaction per batch of ``incident_fanout_batch`` subjects: an e-mail and an
  SMS per subject through the outbox, a delivery row each, an audit event per
  subject), against bare INSERTs of the same outbox rows in transactions of the
  same size.  Only the first batches are measured: the rate does not depend on
  how many subjects wait.
"""

from __future__ import annotations

import time
import uuid
from datetime import timedelta

import sqlalchemy as sa

from bench.harness import BenchContext, Figure
from doorstep.core.database import transaction
from doorstep.notify.models import OutboxMessage
from doorstep.privacy.incidents import fanout
from doorstep.privacy.incidents import services as svc
from doorstep.privacy.incidents.context import IncidentContext
from doorstep.privacy.incidents.notices import set_notice
from doorstep.wiring import build_services

FLEET = True
ACTOR = "system:bench"
MODEL = "DR-1000"
PARTS = {
    "basic_situation": "A copy of the router registry was taken by an outsider.",
    "possible_impact": "Your router's serial number may be known to them.",
    "measures": "We closed the access and rotated the keys.",
    "self_protection_advice": "Change your Wi-Fi password.",
    "remedies": "Support replaces affected routers on request.",
}
_BARE_COUNT = sa.text(
    "SELECT count(DISTINCT b.subject_id) FROM device_registrations r "
    "JOIN device_bindings b ON b.device_id = r.device_id WHERE r.model = :m"
)


def _bare_outbox(ctx: BenchContext, batches: int, size: int) -> float:
    """Outbox rows per second by bare INSERTs, ``size`` subjects (two rows each) a transaction."""
    runtime = ctx.runtime
    now = runtime.clock.now()
    started = time.perf_counter()
    for _ in range(batches):
        rows = []
        for index in range(size):
            subject = uuid.uuid4()
            for channel in ("email", "sms"):
                rows.append(
                    {
                        "id": uuid.uuid4(),
                        "subject_id": subject,
                        "channel": channel,
                        "template": "incident.notice",
                        "locale": "en",
                        "email": f"b{index}@example.org" if channel == "email" else None,
                        "phone": "+999000000000" if channel == "sms" else None,
                        "params": PARTS,
                        "status": "cancelled",
                        "created_at": now,
                        "finished_at": now,
                    }
                )
        with transaction(runtime.sessions) as session:
            session.execute(sa.insert(OutboxMessage), rows)
    elapsed = time.perf_counter() - started
    with transaction(runtime.sessions) as session:
        session.execute(sa.text("DELETE FROM outbox WHERE template = 'incident.notice'"))
    return batches * size * 2 / elapsed


def run(ctx: BenchContext) -> list[Figure]:
    """Measure the figures above on a clone of the fleet."""
    assert ctx.fleet is not None, "bench_incidents needs the fleet (FLEET = True)"
    services = build_services(ctx.runtime)
    incidents = IncidentContext.of(services)
    runtime = ctx.runtime
    batches = 4 if ctx.quick else 20
    size = runtime.settings.incident_fanout_batch

    with ctx.engine.connect() as connection:
        connection.execute(sa.text("ANALYZE"))
        started = time.perf_counter()
        expected = int(connection.execute(_BARE_COUNT, {"m": MODEL}).scalar_one())
        bare = time.perf_counter() - started

    window = runtime.clock.now() - timedelta(days=3650)
    started = time.perf_counter()
    with transaction(runtime.sessions) as session:
        incident = svc.open_incident(
            session,
            incidents,
            kind="disclosure",
            actor=ACTOR,
            window_start=window,
            device_models=[MODEL],
        )
        incident_id, affected = incident.id, incident.affected_count
    opened = time.perf_counter() - started
    started = time.perf_counter()
    with transaction(runtime.sessions) as session:
        svc.recompute(session, incidents, svc.get(session, incident_id, lock=True), ACTOR)
    again = time.perf_counter() - started

    with transaction(runtime.sessions) as session:
        svc.rate(session, incidents, incident_id, "significant", actor=ACTOR)
        set_notice(session, incidents, incident_id, PARTS, actor=ACTOR)
        fanout.start(session, incidents, incident_id, actor=ACTOR)
    messages = subjects = 0
    started = time.perf_counter()
    for _ in range(batches):
        with transaction(runtime.sessions) as session:
            batch = fanout.notify_batch(session, incidents, incident_id)
        messages += batch.messages
        subjects += batch.notified + batch.unreachable
    queued = messages / (time.perf_counter() - started)
    bare_rate = _bare_outbox(ctx, batches, size)

    return [
        Figure(
            f"affected subjects of every {MODEL}, open incident",
            opened,
            "s",
            target="<= 5 s",
            baseline=bare,
            baseline_name="bare count(DISTINCT) of the join",
            note=f"{affected:,} subjects ({expected:,} by the bare count), one transaction",
        ),
        Figure(
            "the same, computed again (nothing new)",
            again,
            "s",
            note="the anti-join finds every subject already affected",
        ),
        Figure(
            "notices queued by the fan-out",
            queued,
            "msg/s",
            baseline=bare_rate,
            baseline_name="bare outbox INSERTs",
            note=f"{subjects:,} subjects in batches of {size}; e-mail + SMS each",
        ),
    ]
