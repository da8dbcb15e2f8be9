"""The fleet's audit trail: the events the services would have recorded, sealed into the chain.

Contract: :func:`record_events` inserts, in one ``INSERT … SELECT`` ordered by time,
the audit events of rows already in the fleet (sign-up, consent decisions, binds and
unbinds, sign-ins, deliveries, requests, restrictions, linked providers, PPPoE set);
:func:`seal_all` then chains every pending event with the application's own sealer
(:func:`doorstep.audit.services.seal`), so the trail verifies like a real one.
Actions, actors, purposes and details are those of the services (ids and codes only).
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from doorstep.audit.services import seal
from doorstep.core.database import make_session_factory, transaction

_SUBJECT = "'subject:' || {}"

EVENTS = f"""
INSERT INTO audit_events (at, actor, action, purpose, element, subject_id, outcome, details)
SELECT at, actor, action, purpose, element, subject_id, outcome, details FROM (
  SELECT created_at AS at, {_SUBJECT.format("id")} AS actor, 'account.created' AS action,
         'account.management' AS purpose, NULL AS element, id AS subject_id, 'ok' AS outcome,
         jsonb_build_object('child', false, 'mode', 'cpe') AS details
    FROM accounts
  UNION ALL
  SELECT occurred_at, {_SUBJECT.format("subject_id")},
         'consent.' || CASE action WHEN 'grant' THEN 'granted' WHEN 'refuse' THEN 'refused'
                                   ELSE 'withdrawn' END,
         'consent.management', NULL, subject_id, 'ok',
         jsonb_build_object('consent_purpose', purpose, 'consent_event', id::text,
                            'channel', channel)
    FROM consent_events
  UNION ALL
  SELECT bound_at, {_SUBJECT.format("subject_id")}, 'devices.bound', 'device.binding',
         'device_bindings', subject_id, 'ok',
         jsonb_build_object('elements', 2, 'device', device_id::text, 'method', method)
    FROM device_bindings
  UNION ALL
  SELECT unbound_at,
         CASE end_reason WHEN 'unbound' THEN {_SUBJECT.format("subject_id")}
                         ELSE 'system:devices' END,
         'devices.unbound', 'device.binding',
         CASE end_reason WHEN 'unbound' THEN 'device_bindings' END, subject_id, 'ok',
         CASE end_reason
           WHEN 'unbound' THEN jsonb_build_object('elements', 2, 'device', device_id::text,
                                                  'reason', 'unbound')
           ELSE jsonb_build_object('device', device_id::text, 'reason', 'anonymised') END
    FROM device_bindings WHERE unbound_at IS NOT NULL
  UNION ALL
  (SELECT DISTINCT ON (family_id) created_at, {_SUBJECT.format("account_id")},
          'account.signed_in', 'account.authentication', NULL, account_id, 'ok',
          jsonb_build_object('session', id::text, 'method', 'password')
     FROM account_sessions ORDER BY family_id, created_at)
  UNION ALL
  SELECT finished_at, 'system:doorstep.notify.deliver', 'notify.' || status,
         'notification.delivery', NULL, subject_id,
         CASE WHEN status = 'sent' THEN 'ok' ELSE 'failed' END,
         jsonb_build_object('outbox_id', id::text, 'channel', channel, 'template', template)
           || CASE WHEN last_error IS NULL THEN '{{}}'::jsonb
                   ELSE jsonb_build_object('error', last_error) END
    FROM outbox WHERE status IN ('sent', 'failed')
  UNION ALL
  SELECT r.received_at, {_SUBJECT.format("r.subject_id")}, 'request.received', 'privacy.rights',
         NULL, r.subject_id, 'ok',
         jsonb_build_object('request', r.id::text, 'kind', r.kind, 'channel', r.channel,
                            'jurisdiction', r.jurisdiction)
    FROM subject_requests r
  UNION ALL
  SELECT closed_at, 'system:requests', 'request.completed', 'privacy.rights', NULL, subject_id,
         'ok', jsonb_build_object('request', id::text, 'kind', kind, 'previous', 'in_progress')
    FROM subject_requests WHERE status = 'completed'
  UNION ALL
  SELECT since, 'system:requests', 'restriction.added', 'privacy.rights', NULL, subject_id, 'ok',
         jsonb_build_object('restricted_purpose', purpose, 'reason', reason,
                            'restriction', id::text)
    FROM restrictions
  UNION ALL
  SELECT lifted_at, 'system:requests', 'restriction.lifted', 'privacy.rights', NULL, subject_id,
         'ok', jsonb_build_object('restricted_purpose', purpose, 'restriction', id::text)
    FROM restrictions WHERE lifted_at IS NOT NULL
  UNION ALL
  SELECT linked_at, {_SUBJECT.format("account_id")}, 'account.provider_linked',
         'account.token_sharing', NULL, account_id, 'ok',
         jsonb_build_object('provider', provider, 'identity', id::text, 'shared_with', 0)
    FROM account_identities
  UNION ALL
  SELECT p.set_at, {_SUBJECT.format("b.subject_id")}, 'devices.pppoe_set',
         'device.internet_access', 'device_pppoe', b.subject_id, 'ok',
         jsonb_build_object('elements', 2, 'device', b.device_id::text, 'interface', p.interface)
    FROM device_pppoe p JOIN device_bindings b ON b.id = p.binding_id
) e
ORDER BY at
"""


def record_events(connection: Connection) -> int:
    """Insert the fleet's audit events; return how many (they wait in ``audit_pending``)."""
    return int(getattr(connection.execute(sa.text(EVENTS)), "rowcount", 0))


def seal_all(engine: Engine, *, batch: int = 100_000) -> int:
    """Chain every pending event with the application's sealer, ``batch`` per transaction."""
    sessions = make_session_factory(engine)
    total = 0
    while True:
        with transaction(sessions) as session:
            sealed = seal(session, limit=batch)
        total += sealed
        if sealed < batch:
            return total
