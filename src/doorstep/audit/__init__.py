"""Hash-chained, append-only audit trail of every use of personal data and every admin action.

Other areas call :func:`~doorstep.audit.services.record` in the transaction that
does the work; a periodic job seals committed events into a SHA-256 chain, and
``doorstep audit verify`` re-walks it.  See docs/decisions/0005-audit-trail.md.

* :mod:`.services` — ``record``, ``seal``, ``checkpoint``, ``verify`` (the API);
* :mod:`.models` — the tables (append-only, enforced by triggers of migration 0002);
* :mod:`.tasks` — the periodic sealer and checkpointer;
* :mod:`.cli` — ``doorstep audit verify | seal | checkpoint``.
"""
