"""Connect the demo's three systems: the shop, the newsletter service, after-sales tickets.

:func:`check` runs before the demo starts anything (the newsletter must be
declared on loopback); :func:`connect` then, on the running demo's database:

1. opens the shop database on the embedded server and points the pack's
   ``shop`` system at it (the ``system_urls`` setting of ``runtime``: the
   declared url names a TCP server the demo does not run), its password
   stored encrypted like any connector secret;
2. starts the newsletter service at the pack's declared url (on a free port,
   pointed at by ``system_urls``, when that one is taken), stores its fresh
   signing secret encrypted (``connector_credentials``) and subscribes the demo's
   subscriber;
3. leaves ``tickets`` manual: the demo's ticket exists only in the (imagined)
   after-sales tool, which the desk searches by hand.

and makes requests reach these three (the ``requests_systems`` setting).  Call
it before anything builds the runtime's services, so they see the settings.
"""

from __future__ import annotations

import secrets
from contextlib import ExitStack
from dataclasses import dataclass
from urllib.parse import urlsplit

from doorstep.audit.entries import audited_transaction
from doorstep.core.errors import ConfigurationError
from doorstep.core.runtime import Runtime
from doorstep.core.settings import Settings
from doorstep.demo_systems.newsletter import Newsletter
from doorstep.demo_systems.newsletter_http import NewsletterServer
from doorstep.demo_systems.shop import ORDER_NUMBER, declared, open_shop
from doorstep.privacy.connectors.credentials import set_secret
from doorstep.privacy.datamap.pack import PolicyPack
from doorstep.services import services_for
from doorstep.wiring import policy_of

SHOP = "shop"
NEWSLETTER = "newsletter"
TICKETS = "tickets"
TICKET = "AS-2041"


@dataclass(frozen=True, slots=True)
class Connected:
    """What the demo connected (for its banner); an empty url: the pack lacks the system."""

    shop: str
    newsletter: str
    order: str
    ticket: str


def _newsletter_address(pack: PolicyPack) -> tuple[str, int] | None:
    system = pack.systems.systems.get(NEWSLETTER)
    if system is None:
        return None
    parts = urlsplit(system.url)
    if parts.hostname not in ("127.0.0.1", "localhost") or parts.port is None:
        raise ConfigurationError(
            f"the demo runs the newsletter service on loopback; the pack declares {system.url}"
        )
    return "127.0.0.1", parts.port


def check(settings: Settings) -> None:
    """ConfigurationError when the pack's newsletter is not on loopback (nothing else to check:
    a taken port makes :func:`connect` use a free one)."""
    _newsletter_address(policy_of(settings)[0])


def _store(runtime: Runtime, system: str, secret: str) -> None:
    keyring = services_for(runtime).keys.keyring
    with audited_transaction(runtime.sessions) as session:
        set_secret(session, keyring, runtime.clock, system, secret)


def connect(runtime: Runtime, stack: ExitStack, *, email: str, phone: str) -> Connected:
    """Connect the systems for ``runtime`` (see the module docstring); stopped with ``stack``."""
    pack = policy_of(runtime.settings)[0]
    shop = ""
    if SHOP in pack.systems.systems:
        shop, password = declared(open_shop(runtime.database_url, email=email, phone=phone))
        urls = {**runtime.settings.system_urls, SHOP: shop}
        runtime.settings = runtime.settings.model_copy(update={"system_urls": urls})
        if password:
            _store(runtime, SHOP, password)
    newsletter = ""
    address = _newsletter_address(pack)
    if address is not None:
        secret = secrets.token_urlsafe(32)
        service = Newsletter(secret)
        try:
            server = stack.enter_context(NewsletterServer(service, *address))
        except OSError:
            # The declared port is taken (another demo, a test run): a free one, and the
            # pack's newsletter pointed at it, as the shop is.
            server = stack.enter_context(NewsletterServer(service, address[0], 0))
            urls = {**runtime.settings.system_urls, NEWSLETTER: server.url}
            runtime.settings = runtime.settings.model_copy(update={"system_urls": urls})
        newsletter = server.url
        service.subscribe(email, channel="demo")
        _store(runtime, NEWSLETTER, secret)
    ticket = TICKET if TICKETS in pack.systems.systems else ""
    reached = tuple(
        key for key, url in ((SHOP, shop), (NEWSLETTER, newsletter), (TICKETS, ticket)) if url
    )
    runtime.settings = runtime.settings.model_copy(update={"requests_systems": reached})
    return Connected(shop, newsletter, ORDER_NUMBER if shop else "", ticket)
