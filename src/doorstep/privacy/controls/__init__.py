"""The controls register: security and continuity controls with their evidence dates.

Business-continuity plan tests, security-policy reviews, third-party audits,
certificates, security impact assessments: each with a due date, an overdue
alert, and the notice's claims flagged when their evidence has lapsed
(CPE-IV.2.b-d, CPE-IV.5).

* :mod:`.models` — the tables: controls, their evidence, assessment versions;
* :mod:`.services` — add controls, record evidence, add and publish assessments;
* :mod:`.status` — due dates and states as of a day, and the claims' flags;
* :mod:`.alerts` and :mod:`.tasks` — the daily alert of lapsed controls;
* :mod:`.reports` — e-mail a published assessment to whoever asked for it;
* :mod:`.api` — the console's API and the public list of published assessments
  (:mod:`.schemas`: what it takes and answers);
* :mod:`.cli` — ``doorstep controls add|record|assess|publish|send|list|status``.

The pack's ``controls:`` section (intervals, claims, the desk's address) is read
by :mod:`doorstep.privacy.datamap.pack_controls`.  May import every package
below the top privacy line; never its siblings (requests, incidents, changes).
"""
