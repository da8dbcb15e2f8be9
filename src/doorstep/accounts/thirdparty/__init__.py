"""Third-party sign-in: the OpenID Connect client, linked providers and their tokens.

Modules: :mod:`.oidc` (the OIDC client: discovery, PKCE, code exchange, ID-token
checks, revocation), :mod:`.providers` (link, unlink, sign in with a provider, share
its token with a service) and :mod:`.models` (sign-in flows, linked identities).

May import :mod:`doorstep.accounts.account`, :mod:`doorstep.accounts.sessions`,
:mod:`~doorstep.accounts.context`, :mod:`~doorstep.accounts.exceptions`, and the core,
audit, privacy and vocabulary packages; :mod:`.oidc` imports nothing from Doorstep
but the core.
"""
