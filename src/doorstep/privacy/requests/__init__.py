"""Data-subject requests: the state machine, intake, exports and erasure (decision 0014).

* :mod:`.services` — open, verify, extend, complete, refuse (every step audited);
* :mod:`.deadlines`, :mod:`.tracking` — the clock, overdue list, reminders;
* :mod:`.intake` — signed-in and public-form intake;
* :mod:`.linkage`, :mod:`.export`, :mod:`.erasure` — driven by the data map;
* :mod:`.fulfil` — carrying out an approved request;
* :mod:`.inline` — the filing API doing an automatic export or erasure's job itself;
* :mod:`.api`, :mod:`.cli`, :mod:`.tasks` — HTTP, ``doorstep requests``, jobs.
"""
