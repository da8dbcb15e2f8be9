"""Deregistration: closing an account and erasing its registration data.

Modules: :mod:`.closing` (self-service deregistration and the manual requests of
customer service), :mod:`.erasure` (the idempotent, resumable erasure job's work)
and :mod:`.models` (the ``account_deregistration_requests`` table).

Sits above the other concepts: may import every accounts package but the HTTP API,
the CLI and the tasks (erasure deletes what each of them stores), as well as the
core, audit, jobs, keys, notify, privacy and vocabulary packages.
"""
