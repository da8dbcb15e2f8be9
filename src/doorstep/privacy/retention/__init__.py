"""Retention: the storage periods the policy promises, executed.

Rules live in the policy pack (``retention:`` — trigger, period, clauses); each
personal column names its rule in the data map; each table *binds* a rule to
its rows (which instant is the trigger, and whether expiry deletes the row or
anonymises columns).  Sweeps execute the bindings in batches, safely with any
number of workers, and write what they did to the audit trail.  See
docs/retention.md and docs/decisions/0012-retention.md.

* :mod:`.binding` — :class:`Binding`, the actions and :func:`retention_info` (the API
  a model uses);
* :mod:`.bindings` — bindings of tables that do not declare their own;
* :mod:`.registry` — :func:`validate_retention`, run at start-up;
* :mod:`.periods` — the period in force (settings may shorten, never lengthen);
* :mod:`.targets` — bindings with rule, period and cutoff;
* :mod:`.sweep` — the batched sweeps; :mod:`.tasks` — the hourly job;
* :mod:`.report` — ``plan`` and the auditor's report; :mod:`.cli` — ``doorstep retention``.
"""

from doorstep.privacy.retention.binding import (
    DELETE,
    Anonymise,
    Binding,
    Coarsen,
    Delete,
    ErasedWithSubject,
    PruneAuditTrail,
    Via,
    retention_info,
)
from doorstep.privacy.retention.registry import validate_retention

__all__ = [
    "DELETE",
    "Anonymise",
    "Binding",
    "Coarsen",
    "Delete",
    "ErasedWithSubject",
    "PruneAuditTrail",
    "Via",
    "retention_info",
    "validate_retention",
]
