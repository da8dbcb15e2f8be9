"""The fleet's rows: one ``INSERT … SELECT`` per table, read from the plan (:mod:`._fleet_plan`).

Contract: :data:`STEPS` are ``(table, statement)`` pairs to run in order on the
connection that ran the plan, with the parameters of :func:`bench.fleet.populate`.
Every value is one the application writes (see each service): the enums and CHECK
constraints hold, every foreign key points at a row inserted before, and rows are
inserted in time order, so one subject's rows are scattered over the table as they
are in a database that grew over years (an export reads as many pages as it would).

Heavy subjects get ``heavy_consents`` consent events, ``heavy_sessions`` sessions (one
refresh-rotation family over the last 30 days) and ``heavy_outbox`` sent messages;
their look-alikes get the ``look_*`` counts at the heavy subject's very instants.
"""

from __future__ import annotations

_ENDPOINT = "'os::' || :oui || '-' || serial"

SUBJECTS = """
INSERT INTO subjects (id, kind, created_at)
SELECT id, 'subscriber', created_at FROM fleet_acct ORDER BY created_at
"""

# A PHC string of argon2id with the default parameters; salt and hash are random bytes,
# so it verifies no password (nothing signs in with a generated account).
ACCOUNTS = """
INSERT INTO accounts (id, status, email, phone, password_hash, email_verified_at,
                      phone_verified_at, created_at, source)
SELECT id, 'active', email, phone,
       '$argon2id$v=19$m=19456,t=2,p=1$'
         || rtrim(encode(substr(pg_temp.b('salt', n), 1, 16), 'base64'), '=') || '$'
         || rtrim(encode(pg_temp.b('password', n), 'base64'), '='),
       created_at + interval '2 minutes', created_at + interval '3 minutes', created_at,
       'app_signup'
  FROM fleet_acct ORDER BY created_at
"""

# endpoint_key is HMAC-SHA256(installation key, context || endpoint id), built from
# sha256() with the key's inner and outer pads (RFC 2104), as devices.inventory does.
DEVICES = f"""
INSERT INTO devices (id, endpoint_key, secret_hash, claim_hash, provisioned_at)
SELECT pg_temp.u('d', d),
       sha256(:opad || sha256(:ipad || convert_to('doorstep-device-endpoint:' || {_ENDPOINT},
                                                  'UTF8'))),
       'scrypt$14$8$1$' || encode(substr(pg_temp.b('salt', d), 1, 16), 'base64') || '$'
         || encode(pg_temp.b('secret', d), 'base64'),
       pg_temp.b('claim', d), provisioned_at
  FROM fleet_dev ORDER BY provisioned_at
"""


def _month(column: str) -> str:
    return f"CASE WHEN anonymised THEN date_trunc('month', {column}) ELSE {column} END"


_KEPT = "CASE WHEN anonymised THEN NULL ELSE {} END"
_FIRMWARE = (
    "CASE WHEN gateway THEN (ARRAY['2.4.1', '2.4.0', '2.3.9'])[pg_temp.h(23, d) % 3 + 1] "
    "ELSE (ARRAY['1.8.3', '1.8.2'])[pg_temp.h(23, d) % 2 + 1] END"
)
_MAC = "'02:f1:ee:' || substr(x, 1, 2) || ':' || substr(x, 3, 2) || ':' || substr(x, 5, 2)"
_IP = "'100.' || 64 + (d / 65536) % 64 || '.' || (d / 256) % 256 || '.' || d % 256"
_STATUS = "CASE WHEN state = 'online' OR pg_temp.h(24, d) % 10 < 6 THEN 'Up' ELSE 'Down' END"

REGISTRATIONS = f"""
INSERT INTO device_registrations (device_id, endpoint_id, mtp, mqtt_topic, mqtt_v5, model,
       firmware_version, serial_number, mac_address, network_status, ip_address, product_type,
       registered_at, refreshed_at, last_seen, online, offline_since, anonymised_at, source)
SELECT pg_temp.u('d', d), {_KEPT.format(_ENDPOINT)},
       CASE WHEN mqtt THEN 'mqtt' ELSE 'websocket' END,
       CASE WHEN mqtt AND NOT anonymised THEN 'usp/agent/' || {_ENDPOINT} END, true,
       {_KEPT.format("CASE WHEN gateway THEN 'DG-2000' ELSE 'DR-1000' END")},
       {_KEPT.format(_FIRMWARE)}, {_KEPT.format("serial")}, {_KEPT.format(_MAC)},
       {_KEPT.format(_STATUS)}, {_KEPT.format(_IP)},
       (CASE WHEN gateway THEN 'gateway' ELSE 'router' END)::device_product_type,
       {_month("registered_at")}, {_month("refreshed_at")}, {_month("last_seen")},
       state = 'online', CASE WHEN state <> 'online' THEN {_month("last_seen")} END, anonymised_at,
       'device_registration'
  FROM (SELECT *, pg_temp.h(22, d) % 10 < 7 AS mqtt, lpad(to_hex(d % 16777216), 6, '0') AS x,
               last_seen - (last_seen - registered_at) * pg_temp.f(25, d) * 0.2 AS refreshed_at
          FROM fleet_dev) r
 ORDER BY registered_at
"""

BINDINGS = """
INSERT INTO device_bindings (id, device_id, subject_id, method, bound_at, unbound_at, end_reason)
SELECT id, device_id, subject_id, method::device_bind_method, bound_at, unbound_at,
       end_reason::device_binding_end
  FROM (SELECT pg_temp.u('bo', d) AS id, pg_temp.u('d', d) AS device_id,
               pg_temp.u('s', owner) AS subject_id,
               CASE WHEN qr AND pg_temp.h(26, d) % 10 < 8 THEN 'qr' ELSE 'manual' END AS method,
               bound_at, NULL::timestamptz AS unbound_at, NULL AS end_reason
          FROM fleet_dev WHERE owner IS NOT NULL
        UNION ALL
        SELECT pg_temp.u('be', d), pg_temp.u('d', d), pg_temp.u('s', prev_n),
               CASE WHEN prev_qr AND pg_temp.h(27, d) % 10 < 8 THEN 'qr' ELSE 'manual' END,
               prev_bound, prev_unbound,
               CASE WHEN anonymised THEN 'anonymised' ELSE 'unbound' END
          FROM fleet_dev WHERE prev_n IS NOT NULL) b
 ORDER BY bound_at
"""

_LATER = "a.created_at + (:now - a.created_at) * (0.2 + 0.7 * pg_temp.f({}, a.n))"
_PURPOSES = "(ARRAY['device.qr_camera', 'wifi.location_scan', 'account.profile'])"
# When the current policy version replaced 1.0: decisions before it name 1.0, and the
# subscribers who had granted the camera confirmed it under the new version.
_CUT = ":now - interval '400 days'"
# The family's heavy subject's creation (look-alikes' rows copy its instants).
_HEAVY = "(SELECT created_at FROM fleet_acct WHERE n = a.family)"

CONSENTS = f"""
INSERT INTO consent_events (id, subject_id, purpose, action, channel, policy_version,
                            notice_hash, occurred_at)
SELECT id, subject_id, purpose, action::consent_action, channel::consent_channel, version,
       CASE WHEN action <> 'withdraw'
            THEN encode(sha256(convert_to('fleet notice ' || purpose || ' ' || version, 'UTF8')),
                        'hex') END,
       at
  FROM (SELECT e.*, CASE WHEN e.at < {_CUT} THEN '1.0' ELSE :policy END AS version
          FROM (SELECT pg_temp.u('c' || v.tag, a.n) AS id, a.id AS subject_id, v.purpose,
                       v.action, v.channel, v.at
                  FROM fleet_acct a CROSS JOIN LATERAL (VALUES
                    ('q', a.qr, 'device.qr_camera', 'grant', 'app',
                     a.created_at + interval '2 minutes'),
                    ('g', a.qr AND a.created_at < {_CUT}, 'device.qr_camera', 'grant', 'app',
                     {_CUT} + pg_temp.f(34, a.n) * interval '60 days'),
                    ('w', a.wifi IS NOT NULL, 'wifi.location_scan', a.wifi, 'app',
                     a.created_at + interval '3 minutes'),
                    ('x', a.wifi = 'grant' AND a.wifi_withdrawn, 'wifi.location_scan', 'withdraw',
                     CASE WHEN pg_temp.h(28, a.n) % 2 = 0 THEN 'app' ELSE 'web' END,
                     {_LATER.format(29)}),
                    ('p', a.profile, 'account.profile', 'grant', 'app',
                     a.created_at + interval '1 minute'),
                    ('r', a.profile AND a.profile_withdrawn, 'account.profile', 'withdraw', 'web',
                     {_LATER.format(30)})
                  ) v(tag, wanted, purpose, action, channel, at)
                 WHERE a.role = 'ordinary' AND v.wanted
                UNION ALL
                SELECT pg_temp.u('hc' || a.n, j), a.id, {_PURPOSES}[j % 3 + 1],
                       CASE WHEN (j / 3) % 2 = 0 THEN 'grant' ELSE 'withdraw' END,
                       CASE WHEN j % 2 = 0 THEN 'app' ELSE 'web' END,
                       {_HEAVY} + interval '1 minute'
                         + j * ((:now - interval '1 hour' - {_HEAVY}) / :heavy_consents)
                  FROM fleet_acct a,
                       generate_series(0, CASE a.role WHEN 'heavy' THEN :heavy_consents
                                                      ELSE :look_consents END - 1) j
                 WHERE a.role <> 'ordinary') e) c
 ORDER BY at
"""

PROFILES = """
INSERT INTO account_profiles (account_id, nickname, updated_at)
SELECT s.subject_id, 'user' || a.n, s.occurred_at + interval '5 minutes'
  FROM consent_state s JOIN fleet_acct a ON a.id = s.subject_id
 WHERE s.purpose = 'account.profile' AND s.action = 'grant'
"""

_SESSION_COLUMNS = (
    "id, account_id, family_id, token_hash, refresh_hash, created_at, expires_at, "
    "refresh_expires_at, revoked_at, end_reason"
)

SESSIONS = f"""
INSERT INTO account_sessions ({_SESSION_COLUMNS})
SELECT id, account_id, family_id, token_hash, refresh_hash, created_at,
       created_at + interval '1 hour', created_at + interval '30 days', revoked_at,
       end_reason::account_session_end_reason
  FROM (WITH live AS (
          SELECT n, id, created_at,
                 greatest(created_at + interval '1 hour',
                          :now - pg_temp.f(31, n) * interval '30 days') AS c1
            FROM fleet_acct WHERE role = 'ordinary')
        SELECT pg_temp.u('ss1', n) AS id, id AS account_id, pg_temp.u('sf', n) AS family_id,
               pg_temp.b('st1', n) AS token_hash, pg_temp.b('sr1', n) AS refresh_hash,
               c1 AS created_at, NULL::timestamptz AS revoked_at, NULL AS end_reason
          FROM live
        UNION ALL
        SELECT pg_temp.u('ss2', n), id, pg_temp.u('sf', n), pg_temp.b('st2', n),
               pg_temp.b('sr2', n),
               c1 - interval '1 hour'
                  - pg_temp.f(33, n) * least(interval '5 days', c1 - created_at - interval '3h'),
               c1, 'rotated'
          FROM live WHERE pg_temp.h(32, n) % 2 = 0 AND c1 - created_at > interval '4 hours'
        UNION ALL
        SELECT pg_temp.u('hs' || a.n, j), a.id, pg_temp.u('hf', a.n), pg_temp.b('hst' || a.n, j),
               pg_temp.b('hsr' || a.n, j), t.at,
               CASE WHEN j > 0 THEN t.at + interval '30 days' / :heavy_sessions END,
               CASE WHEN j > 0 THEN 'rotated' END
          FROM fleet_acct a,
               generate_series(0, CASE a.role WHEN 'heavy' THEN :heavy_sessions
                                              ELSE :look_sessions END - 1) j,
               LATERAL (SELECT :now - (j + 1) * (interval '30 days' / :heavy_sessions) AS at) t
         WHERE a.role <> 'ordinary') s
 ORDER BY created_at
"""

_TEMPLATES = (
    "(ARRAY['account.password_reset', 'device.bound', 'account.verify_phone', 'request.received'])"
)
_CHANNELS = "(ARRAY['email', 'push', 'sms', 'email'])"

OUTBOX = f"""
INSERT INTO outbox (id, subject_id, channel, template, locale, email, phone, device_token,
                    params, status, attempts, last_error, created_at, sent_at, finished_at)
SELECT id, subject_id, channel::outbox_channel, template, 'en',
       CASE WHEN channel = 'email' THEN email END, CASE WHEN channel = 'sms' THEN phone END,
       CASE WHEN channel = 'push' THEN 'fleet-push-' || encode(pg_temp.b('push', n), 'hex') END,
       NULL, status::outbox_status,
       CASE status WHEN 'sent' THEN 1 WHEN 'failed' THEN 3 ELSE 0 END,
       CASE WHEN status = 'failed' THEN 'recipient_refused' END, at,
       CASE WHEN status = 'sent' THEN at + interval '2 seconds' END,
       at + CASE status WHEN 'sent' THEN interval '2 seconds'
                        WHEN 'failed' THEN interval '10 minutes' ELSE interval '1 minute' END
  FROM (SELECT m.*, CASE WHEN m.r < 97 THEN 'sent' WHEN m.r < 99 THEN 'failed'
                         ELSE 'cancelled' END AS status
          FROM (SELECT pg_temp.u('o' || k, a.n) AS id, a.id AS subject_id, a.n, a.email, a.phone,
                       CASE WHEN k = 1 THEN 'push' WHEN pg_temp.h(42, a.n) % 2 = 0 THEN 'email'
                            ELSE 'sms' END AS channel,
                       CASE WHEN k = 1 THEN 'device.bound'
                            WHEN pg_temp.h(42, a.n) % 2 = 0 THEN 'account.password_reset'
                            ELSE 'account.verify_phone' END AS template,
                       greatest(a.created_at + interval '15 minutes',
                                :now - pg_temp.f(40 + k, a.n) * interval '30 days') AS at,
                       pg_temp.h(44 + k, a.n) % 100 AS r
                  FROM fleet_acct a, generate_series(1, 2) k
                 WHERE a.role = 'ordinary'
                UNION ALL
                SELECT pg_temp.u('ho' || a.n, j), a.id, a.n, a.email, a.phone,
                       {_CHANNELS}[j % 4 + 1], {_TEMPLATES}[j % 4 + 1],
                       :now - (j + 1) * (interval '30 days' / :heavy_outbox), 0
                  FROM fleet_acct a,
                       generate_series(0, CASE a.role WHEN 'heavy' THEN :heavy_outbox
                                                      ELSE :look_outbox END - 1) j
                 WHERE a.role <> 'ordinary') m) o
 ORDER BY at
"""

_REASONS = (
    "(ARRAY['accuracy_contested', 'unlawful_processing', 'legal_claims', 'objection_pending', "
    "'objection'])"
)

RESTRICTIONS = f"""
INSERT INTO restrictions (id, subject_id, purpose, reason, since, lifted_at)
SELECT id, subject_id, purpose, reason::restriction_reason, since, lifted_at
  FROM (WITH chosen AS (
          SELECT a.*, (ARRAY['customer.support', 'device.status_query'])[pg_temp.h(51, n) % 2 + 1]
                        AS purpose,
                 created_at + (:now - created_at) * (0.3 + 0.6 * pg_temp.f(52, n)) AS since
            FROM fleet_acct a WHERE role = 'ordinary' AND pg_temp.h(50, n) % 100 < 3)
        SELECT pg_temp.u('r1', n) AS id, id AS subject_id, purpose,
               {_REASONS}[pg_temp.h(53, n) % 5 + 1] AS reason, since,
               CASE WHEN pg_temp.h(54, n) % 2 = 0
                    THEN since + (:now - since) * pg_temp.f(55, n) END AS lifted_at
          FROM chosen
        UNION ALL
        SELECT pg_temp.u('r0', n), id, purpose, 'objection_pending',
               created_at + (since - created_at) * 0.2, created_at + (since - created_at) * 0.5
          FROM chosen WHERE pg_temp.h(50, n) % 100 = 0
        UNION ALL
        SELECT pg_temp.u('r1', n), id, 'customer.support', 'objection',
               {_HEAVY} + interval '200 days', NULL
          FROM fleet_acct a WHERE role <> 'ordinary') r
 ORDER BY since
"""

_REQUEST_COLUMNS = (
    "id, subject_id, kind, status, channel, jurisdiction, purpose, received_at, due_at, "
    "paused_seconds, verified_at, verification, extended_months, fee_due, closed_at, "
    "proof_attempts, queue"
)

REQUESTS = f"""
INSERT INTO subject_requests ({_REQUEST_COLUMNS})
SELECT id, subject_id, kind::subject_request_kind, status::subject_request_status,
       channel::subject_request_channel, 'default', purpose, received_at,
       received_at + interval '30 days', 0,
       CASE WHEN status <> 'received' THEN received_at + interval '1 hour' END,
       CASE WHEN status <> 'received' THEN 'session' END, 0, false,
       CASE WHEN status = 'completed' THEN received_at + interval '2 days' END, 0, 'dpo'
  FROM (SELECT pg_temp.u('q', n) AS id, id AS subject_id,
               CASE WHEN r < 10 THEN 'access' WHEN r < 13 THEN 'portability'
                    ELSE 'restriction' END AS kind,
               CASE WHEN r < 10 THEN 'completed' WHEN r < 13 THEN 'in_progress'
                    ELSE 'received' END AS status,
               CASE WHEN pg_temp.h(61, n) % 2 = 0 THEN 'app' ELSE 'web_form' END AS channel,
               CASE WHEN r >= 13 THEN 'customer.support' END AS purpose,
               CASE WHEN r < 10
                    THEN created_at + (:now - interval '5 days' - created_at) * pg_temp.f(62, n)
                    ELSE greatest(created_at + interval '1 day',
                                  :now - pg_temp.f(62, n) * interval '5 days') END AS received_at
          FROM (SELECT *, pg_temp.h(60, n) % 1000 AS r FROM fleet_acct) a
         WHERE role = 'ordinary' AND r < 15 AND created_at < :now - interval '10 days'
        UNION ALL
        SELECT pg_temp.u('q', n), id, 'access', 'completed', 'app', NULL,
               :now - interval '100 days'
          FROM fleet_acct WHERE role <> 'ordinary') q
 ORDER BY received_at
"""

#: (table, statement) in insertion order (foreign keys point backwards).
STEPS = [
    ("subjects", SUBJECTS),
    ("accounts", ACCOUNTS),
    ("devices", DEVICES),
    ("device_registrations", REGISTRATIONS),
    ("device_bindings", BINDINGS),
    ("consent_events", CONSENTS),
    ("account_profiles", PROFILES),
    ("account_sessions", SESSIONS),
    ("outbox", OUTBOX),
    ("restrictions", RESTRICTIONS),
    ("subject_requests", REQUESTS),
]
