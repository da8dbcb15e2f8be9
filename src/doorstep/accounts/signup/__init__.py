"""Sign-up: creating an account and proving its identifiers with one-time codes.

Modules: :mod:`.registration` (sign up, verify a code, resend one), :mod:`.codes`
(six-digit codes stored as a keyed hash, also used for password reset),
:mod:`.home` (the home country recorded at sign-up) and :mod:`.models` (the
``account_verifications`` table).

May import :mod:`doorstep.accounts.account`, :mod:`doorstep.accounts.children` (the
age gate), :mod:`doorstep.accounts.signin.passwords` (the strength rules),
:mod:`~doorstep.accounts.context`, :mod:`~doorstep.accounts.exceptions`, and the
core, audit, notify, privacy and vocabulary packages.
"""
