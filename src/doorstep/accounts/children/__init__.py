"""Children: the age gate, the guardian's consent and the ``account_guardians`` table.

Modules: :mod:`.guardians` (age gate, consent by the guardian, the deletion sweep of
children whose consent never came) and :mod:`.models` (``Guardian``).

May import :mod:`doorstep.accounts.account`, :mod:`doorstep.accounts.context`, and
the core, audit, notify, privacy and vocabulary packages.
"""
