"""The optional profile (avatar, nickname, date of birth), kept only with consent.

Modules: :mod:`.service` (consent, withdrawal, setting and reading the profile)
and :mod:`.models` (the ``account_profiles`` table).

May import :mod:`doorstep.accounts.account`, :mod:`~doorstep.accounts.context`,
:mod:`~doorstep.accounts.exceptions`, and the core, privacy and vocabulary packages.
"""
