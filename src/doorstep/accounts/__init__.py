"""Subscriber accounts: sign-up, sign-in, sessions, third-party sign-in, children, deregistration.

Public surface (decision 0011)::

    from doorstep.accounts.auth import CurrentSubscriber      # FastAPI: who is signed in
    from doorstep.accounts.hooks import BoundDevices          # the devices area's hook
    from doorstep.accounts.context import AccountContext      # what the services need
    from doorstep.accounts.thirdparty.providers import release_token  # a provider token
    from doorstep.accounts.account.lookup import require_open  # refuse deregistered accounts

One subpackage per concept, each with its tables in its own ``models.py``:

* :mod:`.account` — the ``accounts`` table, identifiers, finding an account;
* :mod:`.sessions` — access and refresh tokens;
* :mod:`.signup` — sign-up and the one-time codes proving identifiers;
* :mod:`.signin` — password sign-in, change and reset; passwords; rate limits;
* :mod:`.thirdparty` — the OpenID Connect client and linked providers;
* :mod:`.children` — the age gate and the guardian's consent;
* :mod:`.profile` — the optional profile;
* :mod:`.deregistration` — closing an account and erasing its data;
* :mod:`.api` — the HTTP API, one module per concept.

Modules shared by them or facing other areas: :mod:`.auth` (who is signed in),
:mod:`.context` (what the services need), :mod:`.exceptions`, :mod:`.hooks`,
:mod:`.attempts` (the transaction that keeps failed attempts counted),
:mod:`.business_days` (the support desk's calendar), :mod:`.transfer_notices`
(where the transfer gate tells a subscriber of a transfer), :mod:`.view` (an account as
its owner sees it), :mod:`.admin` (operator actions), :mod:`.cli`
(``doorstep accounts``) and :mod:`.tasks` (jobs).

Imports go downwards: :mod:`.account` is the bottom; :mod:`.deregistration` may use
every other concept; :mod:`.api`, :mod:`.cli` and :mod:`.tasks` are the top, and
nothing in the area imports them.  Each subpackage's docstring says what it may import.
"""
