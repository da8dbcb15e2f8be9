"""What the incident tables' columns may hold, and how each column is declared.

The states and kinds below are text columns with CHECK constraints
(:func:`one_of`); :func:`about` declares a column that names no one,
:func:`record` one of the two personal tables (ids, jurisdiction, statuses:
purpose ``privacy.rights``, legal obligation, rule ``incident_record``).  The
table modules (:mod:`._incident_models`, :mod:`._subject_models`,
:mod:`._obligation_models`) use them; everything is re-exported by :mod:`.models`.
"""

from __future__ import annotations

from enum import StrEnum

import sqlalchemy as sa

from doorstep.vocabulary import LegalBasis, not_personal, personal

#: Retention rule of the personal rows (both packs' datamap.yaml).
RETENTION_RULE = "incident_record"
#: The purpose those rows serve: telling subjects of a breach is owed to them by law.
PURPOSE = "privacy.rights"
_CLAUSES = ("CPE-IV.2.e", "CPE-IV.7.b", "CORP-5.7")
#: How every ``incident_id`` column is described in the data map.
INCIDENT_ID = "random id of the incident; names no one"


class IncidentKind(StrEnum):
    """What happened to the data (issue 16)."""

    LOSS = "loss"
    DISCLOSURE = "disclosure"
    ALTERATION = "alteration"
    UNAUTHORISED_ACCESS = "unauthorised_access"


class Risk(StrEnum):
    """The risk rating (CPE-IV.1.e): it decides the urgency of the notice's words, not
    whether the subject is told (decision 0018)."""

    LOW = "low"
    SIGNIFICANT = "significant"


class TaskKind(StrEnum):
    """The emergency plan's tasks (CPE-IV.2.e)."""

    CONTAIN = "contain"
    ASSESS = "assess"


class Party(StrEnum):
    """Who an obligation is owed to."""

    AUTHORITY = "authority"
    SUBJECTS = "subjects"


class ReportStatus(StrEnum):
    """A regulator report's state (CPE-IV.7.d); the subjects' obligation is ``open``/``met``."""

    DRAFT = "draft"
    FILED = "filed"
    ACKNOWLEDGED = "acknowledged"
    OPEN = "open"
    MET = "met"


class NoticeStatus(StrEnum):
    """Where an affected subject's notice stands."""

    PENDING = "pending"
    NOTIFIED = "notified"
    UNREACHABLE = "unreachable"


class Channel(StrEnum):
    """How a notice travels (CPE-IV.7.b): the outbox's three, or a task on the desk."""

    EMAIL = "email"
    SMS = "sms"
    PUSH = "push"
    LETTER = "letter"
    PHONE_CALL = "phone_call"


#: The channels that are desk tasks, not outbox messages.
TASK_CHANNELS = frozenset({Channel.LETTER, Channel.PHONE_CALL})


class DeliveryStatus(StrEnum):
    """An outbox message's status, or a desk task's (``task_open`` → ``done``/``failed``)."""

    QUEUED = "queued"
    SENT = "sent"
    FAILED = "failed"
    CANCELLED = "cancelled"
    TASK_OPEN = "task_open"
    DONE = "done"


def one_of(column: str, values: type[StrEnum], name: str) -> sa.CheckConstraint:
    """A CHECK that ``column`` holds one of the values of ``values``."""
    listed = ", ".join(f"'{member.value}'" for member in values)
    return sa.CheckConstraint(f"{column} IN ({listed})", name=name)


def about(reason: str) -> dict[str, object]:
    """The data-map declaration of a column that names no one (exported with the register)."""
    return not_personal(reason, export=True)


def record(category: str, description: str) -> dict[str, object]:
    """The data-map declaration of a column of the personal tables (see the module)."""
    return personal(
        category,
        purposes=[PURPOSE],
        legal_basis=LegalBasis.LEGAL_OBLIGATION,
        retention=RETENTION_RULE,
        clauses=_CLAUSES,
        description=description,
    )


def incident_fk() -> sa.ForeignKey:
    """The foreign key of a row that belongs to an incident (deleted with it)."""
    return sa.ForeignKey("incidents.id", ondelete="CASCADE")
