"""The account itself: the ``accounts`` table, its identifiers, and finding an account.

Modules: :mod:`.models` (``Account``, its status and deregistration reason),
:mod:`.datamap` (the data-map shorthands every accounts table declares its columns
with), :mod:`.identifiers` (normalising e-mail addresses and mobile numbers) and
:mod:`.lookup` (finding an account by identifier; refusing a deregistered one).

The bottom of the area: may import :mod:`doorstep.accounts.context`,
:mod:`doorstep.accounts.exceptions`, the core and vocabulary packages; never another
accounts package.
"""
