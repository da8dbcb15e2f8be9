"""The evidence report: each promise of the policy, the tests that prove it, the code that keeps it.

For an auditor, readable without knowing the code (``doorstep evidence``, :mod:`.cli`).
It joins four sources, each read by one module:

* :mod:`.catalogue` — the active pack's ``clauses.yaml`` (id, section, quote, obligation);
* :mod:`.results` — the last recorded test run (the ``--clause-report`` file the test
  suite's ``clause`` marker plugin writes: clause -> tests and their outcome);
* :mod:`.keepers` — what keeps each clause: the pack's purposes and retention rules
  and the data map's elements that cite it, source lines and decisions naming it;
* :mod:`.notes` — the clauses a decision declares not applicable, or only partly kept.

:mod:`.report` gives each clause its status (proven, partly proven, not applicable,
open) and counts them per section; :mod:`.render` writes Markdown, HTML or JSON.

Layer: above :mod:`doorstep.privacy.datamap` (the pack and the column
declarations) and :mod:`doorstep.core`; it imports no other area and nothing
imports it but the command line.
"""
