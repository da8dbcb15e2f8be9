"""What ``doorstep demo`` seeds, so a newcomer sees the whole system in a minute.

* a subscriber, ``demo@example.org``, with a fresh random password at every
  start (printed once; the demo data directory is the only place it works);
* the first simulated router bound to that subscriber (the others are left for
  binding by hand, with their claim codes printed);
* a second subscriber whose restriction request waits for the privacy desk
  (a new one at a start that finds none open, e.g. after it was decided);
* a privacy officer, and a one-time console sign-in link for them;
* the first subscriber's consent to the newsletter (the demo's newsletter
  service has them subscribed), so withdrawing it in the privacy center
  unsubscribes them there (docs/connectors.md).

Everything goes through the services the pages and the API use (accounts,
binding, requests, staff), so the demo's data is shaped as real data is, and
every step is audited.  Seeding twice is harmless: existing people are reused.
:func:`banner` is what the demo prints once it is seeded.
"""

from __future__ import annotations

import secrets
import uuid
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.orm import Session

from doorstep import __version__
from doorstep.accounts.account.models import Account
from doorstep.accounts.admin import create_verified, set_password
from doorstep.accounts.context import AccountContext
from doorstep.audit.entries import audited_transaction, system_actor
from doorstep.core.runtime import Runtime
from doorstep.demo_systems.connect import Connected
from doorstep.devices import binding
from doorstep.devices._limits import Limits
from doorstep.devices.inventory import installation_key
from doorstep.notify.demo_mailbox import DemoMailbox
from doorstep.privacy.consent import services as consent
from doorstep.privacy.policies.answers import Policy
from doorstep.privacy.requests import intake
from doorstep.privacy.requests.context import RequestContext
from doorstep.privacy.requests.models import SubjectRequest
from doorstep.privacy.requests.services import OPEN
from doorstep.services import Services, services_for
from doorstep.staff.models import StaffMember, StaffRole
from doorstep.staff.services import add_staff
from doorstep.staff.signin import issue_link
from doorstep.usp.agent_sim import SimAgent
from doorstep.wiring import build_services

ACTOR = system_actor("demo")
SUBSCRIBER = "demo@example.org"
SUBSCRIBER_PHONE = "+4915100000001"
WAITING = "jo@example.org"
NEWSLETTER = "newsletter"
WAITING_PHONE = "+4915100000002"


@dataclass(frozen=True, slots=True)
class Seeded:
    """What the demo prints: who to sign in as, the console link and whose it is.

    ``bound`` is how many of the agents (the first ones) are bound to ``email``.
    """

    email: str
    password: str
    console_link: str
    bound: int
    officer: uuid.UUID


def _account(
    session: Session, ctx: AccountContext, email: str, phone: str
) -> tuple[uuid.UUID, bool]:
    found = session.scalar(sa.select(Account.id).where(Account.email == email))
    if found is not None:
        return found, False
    password = secrets.token_urlsafe(16)
    return create_verified(
        session, ctx, email=email, phone=phone, password=password, actor=ACTOR
    ), True


def _privacy_officer(session: Session, runtime: Runtime) -> uuid.UUID:
    found = session.scalar(
        sa.select(StaffMember.id)
        .where(StaffMember.role == StaffRole.PRIVACY_OFFICER, StaffMember.active.is_(True))
        .order_by(StaffMember.created_at)
        .limit(1)
    )
    if found is not None:
        return found
    return add_staff(session, role=StaffRole.PRIVACY_OFFICER, clock=runtime.clock).id


def _newsletter_consent(
    session: Session, services: Services, subject_id: uuid.UUID, runtime: Runtime
) -> None:
    """Record the subscriber's newsletter consent once, as the demo's service has them on."""
    term = services.terms.purposes.get(NEWSLETTER)
    if term is None or consent.latest(session, subject_id, NEWSLETTER) is not None:
        return
    consent.grant(
        session,
        subject_id=subject_id,
        purpose=NEWSLETTER,
        channel="web",
        notice_text=term.function,
        clock=runtime.clock,
        actor=ACTOR,
        terms=services.terms,
    )


def seed(runtime: Runtime, agents: list[SimAgent], *, base_url: str) -> Seeded:
    """Seed the demo's people and bind the first simulated device (see the module docstring)."""
    services = build_services(runtime)
    ctx = AccountContext.of(services)
    password = secrets.token_urlsafe(12)
    bound = 0
    with audited_transaction(runtime.sessions) as session:
        subscriber, _ = _account(session, ctx, SUBSCRIBER, SUBSCRIBER_PHONE)
        set_password(session, ctx, subscriber, password, actor=ACTOR)
        _newsletter_consent(session, services, subscriber, runtime)
        if agents:
            binding.bind(
                session,
                services.gate,
                Limits.from_settings(runtime.settings),
                key=installation_key(runtime.settings),
                subject_id=subscriber,
                claim=binding.Claim(claim_code=agents[0].claim_code),
                now=runtime.clock.now(),
                policy=Policy(services.pack, services.terms),
                channel="web",
            )
            bound = 1
        waiting, _ = _account(session, ctx, WAITING, WAITING_PHONE)
        open_request = session.scalar(
            sa.select(SubjectRequest.id)
            .where(SubjectRequest.subject_id == waiting, SubjectRequest.status.in_(OPEN))
            .limit(1)
        )
        if open_request is None:
            intake.submit_signed_in(
                session,
                RequestContext.of(services),
                subject_id=waiting,
                kind="restriction",
                purpose="customer.support",
            )
        officer = _privacy_officer(session, runtime)
        token = issue_link(session, officer, clock=runtime.clock)
    link = f"{base_url.rstrip('/')}/console/sign-in?token={token}"
    return Seeded(SUBSCRIBER, password, link, bound, officer)


def banner(
    seeded: Seeded,
    agents: list[SimAgent],
    *,
    base_url: str,
    mailbox: str,
    data: str,
    connected: Connected | None = None,
) -> str:
    """What the demo prints once seeded: where to go, who to be, the devices to bind.

    Only the agents not bound yet show their claim codes (the first ``seeded.bound``
    are bound); ``mailbox`` is the demo mailbox's URL, ``data`` where the data lives,
    ``connected`` the systems a request of the subscriber reaches besides Doorstep.
    """
    from doorstep.devices.demo import describe

    base = base_url.rstrip("/")
    bound = [
        f"  {agent.profile.product_class:<8} bound to {seeded.email}"
        for agent in agents[: seeded.bound]
    ]
    devices = describe(agents[seeded.bound :])
    lines = [
        "",
        f"  Doorstep {__version__} demo",
        f"  privacy center  {base}/",
        f"                  sign in as {seeded.email}, password {seeded.password}",
        f"  console         {seeded.console_link}",
        "                  (a privacy officer; the link works once, for 15 minutes; a new one:",
        f"                  doorstep staff sign-in-link {seeded.officer} --base-url {base})",
        f"  mailbox         {mailbox}",
        "                  (the e-mail and SMS the demo sends, sign-up codes included)",
        f"  API docs        {base}/docs",
        f"  data            {data}",
        "  operator        every `doorstep` command (requests list, staff sign-in-link …)",
        "                  joins this demo's database while it runs",
        "  stop            Ctrl-C",
        "",
        *_systems(seeded, connected),
        "  simulated devices" + (" (bind these on the My devices page)" if devices else ""),
        *bound,
        *devices,
        "",
    ]
    return "\n".join(lines)


def _systems(seeded: Seeded, connected: Connected | None) -> list[str]:
    if connected is None:
        return []
    lines = [f"  connected systems (a request of {seeded.email} reaches them too)"]
    if connected.shop:
        lines.append(
            f"  shop            order {connected.order} (PostgreSQL database doorstep_shop)"
        )
    if connected.newsletter:
        lines.append(f"  newsletter      subscribed at {connected.newsletter}")
    if connected.ticket:
        lines.append(f"  tickets         ticket {connected.ticket}: searched by hand (a desk task)")
    return [*lines, ""]


def install_mailbox(runtime: Runtime) -> DemoMailbox:
    """Make a new demo mailbox the e-mail, SMS and push adapter of ``runtime``'s process."""
    mailbox = DemoMailbox()
    services = services_for(runtime)
    services.mailer = services.sms = services.push = mailbox
    return mailbox
