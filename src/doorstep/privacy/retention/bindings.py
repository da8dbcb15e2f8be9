"""Bindings of tables whose models do not declare their own (yet).

A model should carry its bindings itself (``retention_info`` in ``__table_args__``,
see :mod:`.binding`); these are the tables that existed before the retention
engine did.  An owner who moves a binding into its model deletes it here (the
registry refuses a rule bound twice the same way).

:data:`EXTERNAL` names the rules executed outside the engine, so the report can
say where.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta

from doorstep.privacy.retention.binding import (
    DELETE,
    Anonymise,
    Binding,
    ErasedWithSubject,
    PruneAuditTrail,
    Via,
)

#: ``doorstep.accounts.thirdparty.providers.FLOW_TTL``: a flow stores its end, not its start, so the
#: trigger ("created") is ``expires_at - OIDC_FLOW_TTL``.  A test pins the two together.
OIDC_FLOW_TTL = timedelta(minutes=10)

#: The accounts area erases a deregistered account at once (``accounts.erase``, enqueued with
#: the deregistration: it revokes provider tokens, then deletes).  The sweep is the backstop
#: that keeps the promise if that job never finishes; it waits this long so it never deletes
#: a provider link before the job has revoked its tokens.
ACCOUNT_ERASURE_GRACE = timedelta(hours=1)

_UNTIL_ERASURE = "until_erasure"
_REGISTRATION = "until_deregistration"
_DEREGISTERED = Via("account_id", "deregistered_at")

#: What registration data of a deregistered account becomes (CPE-I.i.1.b): NULL.  No
#: marker: ``accounts.erased_at`` belongs to the accounts erasure job, which also
#: deletes the linked rows; the sweep is the backstop that keeps the promise if it
#: has not run.
ACCOUNT_REGISTRATION = Anonymise(
    {
        "email": None,
        "phone": None,
        "password_hash": None,
        "password_changed_at": None,
        "email_verified_at": None,
        "phone_verified_at": None,
        "child_until": None,
        "locked_at": None,
    }
)

BINDINGS: Mapping[str, tuple[Binding, ...]] = {
    # -- subjects and the privacy engine: erased with the subject (requests area) -----------
    "subjects": (Binding(_UNTIL_ERASURE, ErasedWithSubject("id")),),
    "subject_keys": (Binding(_UNTIL_ERASURE, ErasedWithSubject("subject_id")),),
    "consent_events": (Binding(_UNTIL_ERASURE, ErasedWithSubject("subject_id")),),
    # privacy.consent sits below the retention engine, so its binding lives here.
    "consent_request_keys": (Binding("consent_request_key", DELETE, trigger="created_at"),),
    "policy_acceptances": (Binding(_UNTIL_ERASURE, ErasedWithSubject("subject_id")),),
    "restrictions": (Binding(_UNTIL_ERASURE, ErasedWithSubject("subject_id")),),
    "staff_members": (Binding(_UNTIL_ERASURE, ErasedWithSubject("subject_id")),),
    # -- legal holds (privacy.holds sits below the engine): evidence after the release ----
    "legal_holds": (Binding("legal_hold", DELETE, trigger="released_at"),),
    "legal_hold_deferrals": (Binding("legal_hold", DELETE, trigger="enqueued_at"),),
    # -- audit trail: pruned to a checkpoint, never past one -----------------------------
    "audit_events": (Binding("audit_trail", PruneAuditTrail(), trigger="at"),),
    # -- notifications ------------------------------------------------------------------
    "outbox": (Binding("outbox_messages", DELETE, trigger="created_at"),),
    # -- accounts -----------------------------------------------------------------------
    "accounts": (
        Binding(
            _REGISTRATION,
            ACCOUNT_REGISTRATION,
            trigger="deregistered_at",
            offset=ACCOUNT_ERASURE_GRACE,
        ),
        Binding(_UNTIL_ERASURE, ErasedWithSubject("id")),
    ),
    "account_identities": (
        Binding(_REGISTRATION, DELETE, trigger=_DEREGISTERED, offset=ACCOUNT_ERASURE_GRACE),
    ),
    "account_profiles": (
        Binding(_REGISTRATION, DELETE, trigger=_DEREGISTERED, offset=ACCOUNT_ERASURE_GRACE),
    ),
    "account_guardians": (
        Binding(
            _REGISTRATION,
            DELETE,
            trigger=Via("child_id", "deregistered_at"),
            offset=ACCOUNT_ERASURE_GRACE,
        ),
    ),
    "account_sessions": (Binding("sign_in_session", DELETE, trigger="created_at"),),
    "account_verifications": (Binding("one_time_code", DELETE, trigger="created_at"),),
    "account_rate_limits": (Binding("rate_limit_window", DELETE, trigger="window_start"),),
    "account_oidc_flows": (
        Binding("sign_in_flow", DELETE, trigger="expires_at", offset=-OIDC_FLOW_TTL),
    ),
    "account_deregistration_requests": (
        Binding("deregistration_request", DELETE, trigger="closed_at"),
    ),
}

#: Rules executed outside the engine: rule -> who executes it.
EXTERNAL: Mapping[str, str] = {
    "job_history": (
        "doorstep.jobs.prune_finished_jobs (hourly), job_retention_days; "
        "Procrastinate's tables are outside the data map"
    ),
}
