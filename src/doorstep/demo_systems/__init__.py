"""The demo's connected systems: stand-ins for an operator's shop and mailing service.

``doorstep demo`` connects three systems of the pack's ``systems.yaml`` so a
newcomer sees a request reach beyond Doorstep (issue 18, docs/connectors.md):

* :mod:`.shop` — the online shop's database (orders, addresses, payment
  tokens), a second database on the demo's embedded PostgreSQL;
* :mod:`.newsletter` and :mod:`.newsletter_http` — a small newsletter service on
  loopback that counts opens with a pixel, honours unsubscribe (a link and an
  account setting) and pixel opt-out (CORP-2.5, CORP-2.6), and answers the HTTP
  connector's signed access, erasure and status calls;
* after-sales tickets stay a manual system: the desk searches them by hand.

Only the demo and the tests import this package (it sits just below
:mod:`doorstep.demo` in the layers); nothing in Doorstep's own areas depends on it.
"""
