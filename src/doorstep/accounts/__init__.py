"""Subscriber accounts: sign-up, sign-in, sessions, third-party sign-in, children, deregistration.

Public surface (decision 0011)::

    from doorstep.accounts.auth import CurrentSubscriber      # FastAPI: who is signed in
    from doorstep.accounts.hooks import BoundDevices          # the devices area's hook
    from doorstep.accounts.context import AccountContext      # what the services need
    from doorstep.accounts.thirdparty import release_token    # a provider token for a service
    from doorstep.accounts._lookup import require_open        # refuse deregistered accounts

Modules: :mod:`.signup` (sign-up, codes proving identifiers), :mod:`.signin`
(sign-in, password change and reset), :mod:`.tokens` (sessions), :mod:`.ratelimit`,
:mod:`.codes`, :mod:`.passwords`, :mod:`.identifiers`, :mod:`.children`,
:mod:`.profile`, :mod:`.oidc` and :mod:`.thirdparty` (providers),
:mod:`.deregistration`, :mod:`.business_days`, :mod:`.erasure`, :mod:`.tasks`,
:mod:`.api` (HTTP), :mod:`.cli` (``doorstep accounts``).
"""
