"""Sign-in sessions: opaque access tokens and rotating refresh tokens.

Modules: :mod:`.models` (the ``account_sessions`` table) and :mod:`.tokens` (issue,
resolve, refresh and revoke tokens; prune expired sessions).  Who is signed in, for
other areas, is :mod:`doorstep.accounts.auth`.

May import :mod:`doorstep.accounts.account`, :mod:`~doorstep.accounts.context`,
:mod:`~doorstep.accounts.exceptions`, the core and vocabulary packages.
"""
