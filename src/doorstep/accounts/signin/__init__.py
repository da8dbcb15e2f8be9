"""Password sign-in: passwords, rate limits, and the sign-in, change and reset flows.

Modules: :mod:`.flows` (sign in, sign out, change and reset the password),
:mod:`.passwords` (argon2id hashing and the strength check),
:mod:`.common_passwords` (the list the strength check refuses), :mod:`.ratelimit`
(fixed-window counters per client address and identifier) and :mod:`.models` (the
``account_rate_limits`` table).

May import :mod:`doorstep.accounts.account`, :mod:`doorstep.accounts.sessions`,
:mod:`doorstep.accounts.signup.codes` and its models (reset codes),
:mod:`~doorstep.accounts.context`, :mod:`~doorstep.accounts.exceptions`, and the
core, audit, notify, privacy and vocabulary packages.  :mod:`.passwords` imports
only the core: :mod:`doorstep.accounts.context` is built with it.
"""
