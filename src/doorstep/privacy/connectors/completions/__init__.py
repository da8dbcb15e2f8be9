"""Completion events: closing a record in a connected system schedules its deletion there.

Closing an order's after-sales period, a ticket, a job application or a shop
account (CORP-5.4, CORP-5.5, CPE-IV.1.b) is recorded as a
:class:`~.models.CompletionEvent` (:mod:`.record`: API, CLI); the kinds of
record each system knows, the identifier a record is found by and the retention
rule whose period runs from the event are the pack's (``systems.yaml``,
``completions:``).  When the period has passed, :mod:`.carry` erases the record
through the system's connector (SQL: deletes or anonymises the record's rows by
its key; HTTP: a signed erasure; manual: reported to the desk), unless a legal
hold of its subject keeps it; the periodic job :mod:`.tasks` runs it.
"""
