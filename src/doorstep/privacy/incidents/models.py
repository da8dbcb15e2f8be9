"""The tables of incidents: the incident, its tasks, whom it affects and what they were told.

An incident row holds ids, names, instants and counts, never a value of
anyone's data (decision 0018; issue 16).  The people it affects are rows of
:class:`AffectedSubject` (ids and jurisdiction only), the messages sent to them
rows of :class:`Delivery` (ids, channel, status: the outbox holds the address
until it is sent).  Only those two tables are personal; both keep their rows
five years (the pack's ``incident_record`` rule), the evidence that everyone
affected was told in time.  Incident, tasks, notices, obligations and public
notices describe the incident itself and stay as the operator's incident
register.

States are text with CHECK constraints; the enums name their values.  The
names live in private modules by what they hold and are all imported from here:

* :mod:`._columns`: the enums, the retention rule and purpose of the personal rows;
* :mod:`._incident_models`: :class:`Incident`, :class:`IncidentTask`, :class:`Notice`;
* :mod:`._subject_models`: :class:`AffectedSubject`, :class:`Delivery` (personal);
* :mod:`._obligation_models`: :class:`Obligation`, :class:`PublicNotice`.
"""

from __future__ import annotations

from doorstep.privacy.incidents._columns import (
    PURPOSE,
    RETENTION_RULE,
    TASK_CHANNELS,
    Channel,
    DeliveryStatus,
    IncidentKind,
    NoticeStatus,
    Party,
    ReportStatus,
    Risk,
    TaskKind,
)
from doorstep.privacy.incidents._incident_models import (
    NOTICE_PARTS,
    Incident,
    IncidentTask,
    Notice,
)
from doorstep.privacy.incidents._obligation_models import Obligation, PublicNotice
from doorstep.privacy.incidents._subject_models import AffectedSubject, Delivery

__all__ = [
    "NOTICE_PARTS",
    "PURPOSE",
    "RETENTION_RULE",
    "TASK_CHANNELS",
    "AffectedSubject",
    "Channel",
    "Delivery",
    "DeliveryStatus",
    "Incident",
    "IncidentKind",
    "IncidentTask",
    "Notice",
    "NoticeStatus",
    "Obligation",
    "Party",
    "PublicNotice",
    "ReportStatus",
    "Risk",
    "TaskKind",
]
