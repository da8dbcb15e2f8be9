"""A request's work in each connected system: fan-out, per-system jobs, completion, the desk.

* :mod:`.models` — ``request_systems``: one row per request and system (state,
  attempts, reason, sealed identifiers and result, times);
* :mod:`.sealing` — identifiers, the requester's address and a system's exported
  part, sealed under a keyring-wrapped key of the row (not the subject's key,
  which Doorstep's own erasure destroys before slow systems finish);
* :mod:`.fanout` — which systems a request reaches, and their rows and jobs;
* :mod:`.settle` — recording a system's outcome and completing the request when
  every system is settled and Doorstep's own part is done;
* :mod:`.run` and :mod:`.tasks` — one job per system, retried with back-off;
* :mod:`.desk` and :mod:`.api` — the console (states, manual outcomes, re-runs)
  and the HTTP connectors' signed callback.

It may import the requests area below it (services, notices) and the connectors.
"""
