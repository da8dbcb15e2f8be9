"""What ``doorstep demo`` seeds, so a newcomer sees the whole system in a minute.

* a subscriber, ``demo@example.org``, with a fresh random password at every
  start (printed once; the demo data directory is the only place it works);
* the first simulated router bound to that subscriber (the others are left for
  binding by hand, with their claim codes printed);
* a second subscriber whose restriction request waits for the privacy desk;
* a privacy officer, and a one-time console sign-in link for them.

Everything goes through the services the pages and the API use (accounts,
binding, requests, staff), so the demo's data is shaped as real data is, and
every step is audited.  Seeding twice is harmless: existing people are reused.
"""

from __future__ import annotations

import secrets
import uuid
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.orm import Session

from doorstep.accounts.admin import create_verified, set_password
from doorstep.accounts.context import AccountContext
from doorstep.accounts.models import Account
from doorstep.core.runtime import Runtime
from doorstep.devices import binding
from doorstep.devices._limits import Limits
from doorstep.devices.inventory import installation_key
from doorstep.privacy.purposes import audited_transaction, system_actor
from doorstep.privacy.requests import intake
from doorstep.privacy.requests.context import RequestContext
from doorstep.staff.models import StaffMember, StaffRole
from doorstep.staff.services import add_staff
from doorstep.staff.signin import issue_link
from doorstep.usp.agent_sim import SimAgent
from doorstep.wiring import build_services

ACTOR = system_actor("demo")
SUBSCRIBER = "demo@example.org"
SUBSCRIBER_PHONE = "+4915100000001"
WAITING = "jo@example.org"
WAITING_PHONE = "+4915100000002"


@dataclass(frozen=True, slots=True)
class Seeded:
    """What the demo prints: who to sign in as, and the console link."""

    email: str
    password: str
    console_link: str
    bound: int


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


def seed(runtime: Runtime, agents: list[SimAgent], *, base_url: str) -> Seeded:
    """Seed the demo's people and bind the first simulated device (see the module docstring)."""
    services = build_services(runtime)
    ctx = AccountContext.of(services)
    password = secrets.token_urlsafe(12)
    bound = 0
    with audited_transaction(runtime.sessions) as session:
        subscriber, _ = _account(session, ctx, SUBSCRIBER, SUBSCRIBER_PHONE)
        set_password(session, ctx, subscriber, password, actor=ACTOR)
        if agents:
            binding.bind(
                session,
                services.gate,
                Limits.from_settings(runtime.settings),
                key=installation_key(runtime.settings),
                subject_id=subscriber,
                claim=binding.Claim(claim_code=agents[0].claim_code),
                now=runtime.clock.now(),
            )
            bound = 1
        waiting, created = _account(session, ctx, WAITING, WAITING_PHONE)
        if created:
            intake.submit_signed_in(
                session,
                RequestContext.of(services),
                subject_id=waiting,
                kind="restriction",
                purpose="customer.support",
            )
        token = issue_link(session, _privacy_officer(session, runtime), clock=runtime.clock)
    link = f"{base_url.rstrip('/')}/console/sign-in?token={token}"
    return Seeded(SUBSCRIBER, password, link, bound)
