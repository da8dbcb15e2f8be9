"""The fleet's plan: helper functions and two temporary tables every bulk statement reads.

Contract: :func:`statements` returns SQL to run, in order, on one connection (the
functions and tables are ``pg_temp`` objects: they vanish with the session and
leave nothing in the database).  Nothing here inserts into an application table.

* ``pg_temp.u(tag, n)``: a v4-shaped UUID derived from the build's seed, so every id
  can be recomputed in SQL without a join (``u('s', 7)`` is account 7's subject id,
  ``u('d', 7)`` device 7's id);
* ``pg_temp.h(tag, n)`` / ``pg_temp.f(tag, n)``: a pseudo-random int in [0, 2^31) /
  float in [0, 1) per row and purpose (``tag`` keeps the draws independent);
* ``pg_temp.b(tag, n)``: 32 pseudo-random bytes (hash columns, salts);
* ``fleet_acct``: one row per account: role (``heavy``, ``lookalike``, ``ordinary``),
  its family (a heavy subject and its look-alikes share one), e-mail, phone, when it
  was created, which consents it gave and which devices (``first_dev`` …) it owns;
* ``fleet_dev``: one row per device: its owner (open binding), an earlier owner who
  unbound it (or whose binding ended when the record was anonymised), its state
  (``online``, ``offline``, ``anonymised``) and every instant of its life.

Roles: accounts 1..H are the heavy subjects, the next 3H their look-alikes (family
``h``, ``variant`` 0..2: ``u<h>@example.net``, ``u<h>+1@example.org``,
``xu<h>@example.org``), the rest are ordinary.  Each heavy subject's first device
was once bound to its first look-alike and the look-alike's first device to it.
"""

from __future__ import annotations

import re

_SEED = re.compile(r"^[0-9a-f]{16}$")

_FUNCTIONS = [
    """CREATE FUNCTION pg_temp.u(tag text, n bigint) RETURNS uuid LANGUAGE sql IMMUTABLE AS
       $$SELECT overlay(overlay(md5('{seed}' || tag || ':' || n::text) placing '4' from 13)
                        placing '8' from 17)::uuid$$""",
    """CREATE FUNCTION pg_temp.h(tag int, n bigint) RETURNS int LANGUAGE sql IMMUTABLE AS
       $$SELECT (hashint8extended(n, {salt} + tag) & 2147483647)::int$$""",
    """CREATE FUNCTION pg_temp.f(tag int, n bigint) RETURNS float8 LANGUAGE sql IMMUTABLE AS
       $$SELECT (hashint8extended(n, {salt} + tag) & 2147483647) / 2147483648.0$$""",
    """CREATE FUNCTION pg_temp.b(tag text, n bigint) RETURNS bytea LANGUAGE sql IMMUTABLE AS
       $$SELECT sha256(convert_to('{seed}' || tag || ':' || n::text, 'UTF8'))$$""",
]

_ACCOUNTS = """
CREATE TEMP TABLE fleet_acct AS
WITH role AS (
  SELECT n,
         CASE WHEN n <= :heavy THEN 'heavy'
              WHEN n <= :heavy * 4 THEN 'lookalike' ELSE 'ordinary' END AS role,
         CASE WHEN n <= :heavy THEN n
              WHEN n <= :heavy * 4 THEN (n - :heavy - 1) / 3 + 1 END AS family,
         CASE WHEN n > :heavy AND n <= :heavy * 4 THEN (n - :heavy - 1) % 3 END AS variant
    FROM generate_series(1, :accounts) n
), planned AS (
  SELECT n, pg_temp.u('s', n) AS id, role, family, variant,
         CASE role
           WHEN 'ordinary' THEN :now - interval '1 day' - pg_temp.f(1, n) * interval '1095 days'
           ELSE :now - interval '1000 days' + family * interval '1 minute'
                + coalesce(variant + 1, 0) * interval '1 second'
         END AS created_at,
         CASE WHEN role = 'heavy' THEN :base
              ELSE :base - :spread + pg_temp.h(2, n) % (2 * :spread + 1) END AS ndev,
         CASE variant
           WHEN 0 THEN 'u' || family || '@example.net'
           WHEN 1 THEN 'u' || family || '+1@example.org'
           WHEN 2 THEN 'xu' || family || '@example.org'
           ELSE 'u' || n || '@example.org'
         END AS email,
         '+999' || lpad(n::text, 9, '0') AS phone,
         role = 'ordinary' AND pg_temp.h(3, n) % 10 < 7 AS qr,
         CASE WHEN role <> 'ordinary' THEN NULL
              WHEN pg_temp.h(4, n) % 10 < 4 THEN 'grant'
              WHEN pg_temp.h(4, n) % 10 < 6 THEN 'refuse' END AS wifi,
         role = 'ordinary' AND pg_temp.h(5, n) % 4 = 0 AS wifi_withdrawn,
         role = 'ordinary' AND pg_temp.h(6, n) % 10 < 3 AS profile,
         role = 'ordinary' AND pg_temp.h(7, n) % 5 = 0 AS profile_withdrawn
    FROM role
)
SELECT *, sum(ndev) OVER (ORDER BY n) - ndev + 1 AS first_dev FROM planned
"""

# Look-alike 0 of family h is account H + 3(h - 1) + 1; it and heavy h swap a device.
_PARTNER = "CASE o.role WHEN 'heavy' THEN :heavy + 3 * (o.family - 1) + 1 ELSE o.family END"
_ORDINARY = ":heavy * 4 + 1 + pg_temp.h({tag}, g.d) % (:accounts - :heavy * 4)"

_DEVICES = f"""
CREATE TEMP TABLE fleet_dev AS
WITH owned AS (
  SELECT a.first_dev + k AS d, a.n AS owner, k, a.role, a.family, a.variant, a.qr,
         CASE WHEN a.role = 'ordinary'
              THEN a.created_at + interval '10 minutes' + CASE WHEN k = 0 THEN interval '0'
                   ELSE pg_temp.f(10, a.first_dev + k) * (:now - a.created_at - interval '1 hour')
                   END
              ELSE a.created_at + interval '100 days' + k * interval '10 days'
         END AS bound_at
    FROM fleet_acct a, generate_series(0, a.ndev - 1) k
), drawn AS (
  SELECT g.d, o.owner, o.bound_at, o.qr,
         o.owner IS NULL AND pg_temp.h(11, g.d) % 10 = 9 AS anonymised,
         CASE
           WHEN o.role IN ('heavy', 'lookalike') AND o.k = 0 AND coalesce(o.variant, 0) = 0
             THEN {_PARTNER}
           WHEN o.role = 'ordinary' AND pg_temp.h(11, g.d) % 20 = 0 THEN {_ORDINARY.format(tag=12)}
           WHEN o.owner IS NULL AND pg_temp.h(11, g.d) % 10 >= 4 THEN {_ORDINARY.format(tag=12)}
         END AS prev_n
    FROM generate_series(1, :devices) g(d) LEFT JOIN owned o ON o.d = g.d
), earlier AS (
  SELECT w.*, p.created_at AS prev_created, p.qr AS prev_qr,
         coalesce(CASE
           WHEN w.owner IS NOT NULL THEN p.created_at < w.bound_at - interval '2 hours'
           WHEN w.anonymised THEN p.created_at < :now - interval '800 days'
           ELSE p.created_at IS NOT NULL
         END, false) AS prev_ok
    FROM drawn w LEFT JOIN fleet_acct p ON p.n = w.prev_n
), ended AS (
  SELECT d, owner, bound_at, qr, anonymised,
         CASE WHEN prev_ok THEN prev_n END AS prev_n, prev_ok AND prev_qr AS prev_qr,
         CASE
           WHEN NOT prev_ok THEN NULL
           WHEN owner IS NOT NULL
             THEN greatest(prev_created + interval '1 hour',
                           bound_at - pg_temp.f(13, d) * interval '300 days')
           WHEN anonymised THEN prev_created + interval '1 day'
           ELSE prev_created + (:now - prev_created) * pg_temp.f(13, d) * 0.8
         END AS prev_bound
    FROM earlier
), offline AS (
  SELECT *,
         CASE
           WHEN NOT anonymised THEN NULL
           WHEN prev_bound IS NOT NULL
             THEN prev_bound + (:now - interval '760 days' - prev_bound) * pg_temp.f(15, d)
           ELSE :now - interval '760 days' - pg_temp.f(15, d) * interval '300 days'
         END AS gone_since,
         CASE
           WHEN prev_bound IS NULL OR anonymised THEN NULL
           WHEN owner IS NOT NULL
             THEN prev_bound + (bound_at - interval '1 hour' - prev_bound)
                  * (0.5 + 0.5 * pg_temp.f(14, d))
           ELSE prev_bound + (:now - prev_bound) * (0.1 + 0.8 * pg_temp.f(14, d))
         END AS unbound_at
    FROM ended
), timed AS (
  SELECT *,
         CASE WHEN anonymised THEN gone_since + interval '731 days'
                                   + pg_temp.f(16, d) * interval '20 hours' END AS anonymised_at,
         coalesce(prev_bound, bound_at,
                  CASE WHEN anonymised THEN gone_since - interval '30 days'
                       ELSE :now - interval '1 day' - pg_temp.f(16, d) * interval '700 days' END)
           - interval '10 minutes' - pg_temp.f(17, d) * interval '2 days' AS registered_at,
         CASE WHEN anonymised THEN 'anonymised'
              WHEN pg_temp.h(19, d) % 100 < 85 THEN 'online' ELSE 'offline' END AS state
    FROM offline
)
SELECT *,
       CASE WHEN anonymised THEN anonymised_at + interval '1 minute' ELSE unbound_at END
         AS prev_unbound,
       CASE state
         WHEN 'online' THEN :now - pg_temp.f(20, d) * interval '300 seconds'
         WHEN 'anonymised' THEN gone_since
         ELSE greatest(coalesce(bound_at, unbound_at, registered_at),
                       :now - pg_temp.f(20, d) * interval '600 days')
       END AS last_seen,
       registered_at - interval '1 day' - pg_temp.f(18, d) * interval '200 days' AS provisioned_at,
       'FL' || lpad(d::text, 8, '0') AS serial,
       pg_temp.h(21, d) % 3 = 0 AS gateway
  FROM timed
"""


def statements(seed: str) -> list[str]:
    """The SQL that creates the helper functions and the plan tables, in order."""
    if not _SEED.match(seed):
        raise ValueError("the seed is 16 lower-case hex digits")
    salt = int(seed[:8], 16)
    functions = [sql.format(seed=seed, salt=salt) for sql in _FUNCTIONS]
    return [
        *functions,
        _ACCOUNTS,
        "ALTER TABLE fleet_acct ADD PRIMARY KEY (n)",
        _DEVICES,
        "ALTER TABLE fleet_dev ADD PRIMARY KEY (d)",
        "ANALYZE fleet_acct",
        "ANALYZE fleet_dev",
    ]
