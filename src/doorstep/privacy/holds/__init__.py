"""Legal holds: a subject's data, or one element of it, kept past its period on a legal ground.

A hold names its legal basis, authority and reference; while it stands, erasure
refuses the held part and retention sweeps skip and report the held rows.
Releasing it lets the deferred erasure or sweep happen by itself
(CPE-IV.3.b, CPE-IV.1.b, CPE-V.5.d, CORP-5.4).  See docs/retention.md
("Legal holds") and docs/decisions/0021-legal-holds.md.

* :mod:`.basis` — the legal grounds a hold may name;
* :mod:`.models` — ``legal_holds`` and ``legal_hold_deferrals``;
* :mod:`.elements` — what a hold may name, what a subject's holds cover
  (:class:`~.elements.Held`, for erasure) and :func:`~.elements.held_rows`
  (for the sweeps);
* :mod:`.services` — place, release, look up; defer a job until a release;
* :mod:`.cli` — ``doorstep holds place|release|list|show``.

May import: purposes, consent, datamap, audit, jobs, subjects, vocabulary, core.
The areas that ask it (requests, accounts, retention) sit above it.  Its
console API is :mod:`doorstep.privacy.requests.holds_console` and its page
:mod:`doorstep.web.console.holds`: both need the staff sign-in, which sits
above this package.
"""
