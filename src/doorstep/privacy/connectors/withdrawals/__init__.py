"""A consent withdrawn (or an objection) reaches the connected systems that rely on it.

When a subject withdraws consent to a purpose, or objects to it, every live
connected system (the ``requests_systems`` setting) with an element that rests on
consent for that purpose is told, in the withdrawal's transaction (CORP-2.5: the
newsletter service unsubscribes and stops counting opens):

* :mod:`.models` — ``system_withdrawals``: one row per withdrawal and system;
* :mod:`.fanout` — which systems rely on the purpose, their rows and jobs, and the
  hook the composition root installs for the areas below (``Services.consent_withdrawn``);
* :mod:`.run` and :mod:`.tasks` — one job per HTTP system: a signed ``withdraw``
  call, retried with back-off, ``failed`` with the reason after the attempts;
* :mod:`.desk` and :mod:`.api` — the console: every system's state, the desk's
  outcome of a manual system's task, a re-run of a failed one.
"""
