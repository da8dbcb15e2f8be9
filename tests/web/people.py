"""The people of the browser tests: subscribers and staff, made directly and signed in by hand.

* :func:`make_subscriber` — an active account with a real argon2id password,
  created as an operator creates a verified account (no codes to read);
* :func:`sign_in` — types the e-mail address and password into ``/signin``;
* :func:`make_staff` / :func:`staff_sign_in` — a staff member of a role, and the
  console session a one-time sign-in link gives (``/console/sign-in?token=…``,
  then the page's "Sign in to the console" button).

The journeys that must go through sign-up and verification do so themselves.
"""

from __future__ import annotations

import itertools
import uuid
from dataclasses import dataclass

from playwright.sync_api import Page, expect

from doorstep.accounts.admin import create_verified
from doorstep.accounts.context import AccountContext
from doorstep.core.runtime import Runtime
from doorstep.staff.services import add_staff
from doorstep.staff.signin import issue_link

PASSWORD = "correct horse battery staple 42"
_numbers = itertools.count(1)


@dataclass(frozen=True, slots=True)
class Person:
    """A subscriber the tests can sign in as."""

    subject_id: uuid.UUID
    email: str
    phone: str
    password: str = PASSWORD


def make_subscriber(runtime: Runtime, *, password: str = PASSWORD) -> Person:
    """An active, verified account (committed) with ``password``, made as an operator would."""
    number = next(_numbers)
    email = f"web-{uuid.uuid4().hex[:8]}@example.org"
    phone = f"+49151{number % 10**5:05d}{uuid.uuid4().int % 1000:03d}"
    ctx = AccountContext.for_runtime(runtime)
    with runtime.sessions.begin() as session:
        subject_id = create_verified(
            session, ctx, email=email, phone=phone, password=password, actor="system:tests"
        )
    return Person(subject_id, email, phone, password)


def sign_in(page: Page, person: Person, *, then: str = "/devices") -> None:
    """Sign in through the form; wait for the page it leads to."""
    page.goto(f"/signin?next={then}")
    page.get_by_label("E-mail address or mobile number").fill(person.email)
    page.get_by_label("Password").fill(person.password)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"**{then}")
    expect(page.get_by_role("button", name="Sign out")).to_be_visible()


def make_staff(runtime: Runtime, role: str) -> uuid.UUID:
    """A staff member with ``role`` (committed); returns the staff id."""
    with runtime.sessions.begin() as session:
        return add_staff(session, role=role, clock=runtime.clock).id


def staff_sign_in(page: Page, runtime: Runtime, role: str) -> uuid.UUID:
    """Make a staff member and sign them in to the console with a one-time link."""
    staff_id = make_staff(runtime, role)
    with runtime.sessions.begin() as session:
        token = issue_link(session, staff_id, clock=runtime.clock)
    page.goto(f"/console/sign-in?token={token}")
    page.get_by_role("button", name="Sign in to the console").click()
    page.wait_for_url("**/console/requests")
    return staff_id
