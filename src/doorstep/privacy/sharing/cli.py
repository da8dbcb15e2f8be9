"""``doorstep sharing …``: the grounds of sharing the desk records, and the registry.

* ``consent grant|withdraw SUBJECT RECIPIENT PURPOSE``: a subject's explicit
  decision on sharing with one recipient for one purpose, as the subject gave it
  to the desk (CPE-III.1.a, III.2.a); ``consent list SUBJECT``: their decisions;
* ``demand add SUBJECT --recipient --purpose --authority --legal-reference
  --scope a,b --approver STAFF_ID``: a legal demand (CPE-III.1.b, CORP-3.5);
  ``demand list [--subject]``, ``demand show ID``;
* ``recipients``: the pack's registry (role, country, agreement, shares).

Output holds ids, pack keys, element names and the demand's legal reference and
authority (which the operator recorded), never a value of a subject's data.  Bad
input exits 2 with nothing stored; an unknown subject, staff member or demand exits 1.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Annotated, TypeVar

import sqlalchemy as sa
import typer
from sqlalchemy.orm import Session

from doorstep.core.commands import cli_runtime, fail, load_cli_settings
from doorstep.core.errors import DoorstepError, InvalidInputError, NotFoundError
from doorstep.core.models import schema_metadata
from doorstep.core.runtime import Runtime
from doorstep.privacy.datamap.chosen import chosen_pack
from doorstep.privacy.datamap.registry import personal_elements
from doorstep.privacy.sharing.grounds import decide_consent, record_legal_demand
from doorstep.privacy.sharing.models import ConsentDecision, LegalDemand, RecipientConsent

app = typer.Typer(
    help="Sharing: a subject's consents per recipient, legal demands, the recipient registry."
)
consent_app = typer.Typer(help="A subject's consents to sharing.", no_args_is_help=True)
demand_app = typer.Typer(help="Legal demands for a subject's data.", no_args_is_help=True)
app.add_typer(consent_app, name="consent")
app.add_typer(demand_app, name="demand")
T = TypeVar("T")
ACTOR = "system:cli"


def _run(work: Callable[[Session, Runtime], T]) -> T:
    with cli_runtime(load_cli_settings(), "doorstep-sharing") as runtime:
        try:
            with runtime.sessions.begin() as session:
                return work(session, runtime)
        except InvalidInputError as exc:
            rules = ", ".join(f"{e['field']}: {e['rule']}" for e in exc.fields.get("errors", []))
            fail(exc.detail + (f" ({rules})" if rules else ""), 2)
        except DoorstepError as exc:
            fail(exc.detail, 1)


def _uuid(value: str, what: str) -> uuid.UUID:
    try:
        return uuid.UUID(value)
    except ValueError:
        fail(f"the {what} must be a UUID", 2)


def _subject(session: Session, subject_id: uuid.UUID) -> None:
    found = session.execute(
        sa.text("SELECT 1 FROM subjects WHERE id = :id"), {"id": subject_id}
    ).first()
    if found is None:
        raise NotFoundError("no such subject")


def _decide(subject: str, recipient: str, purpose: str, decision: ConsentDecision) -> None:
    subject_id = _uuid(subject, "subject id")

    def work(session: Session, runtime: Runtime) -> uuid.UUID:
        _subject(session, subject_id)
        return decide_consent(
            session,
            subject_id=subject_id,
            recipient=recipient,
            purpose=purpose,
            decision=decision,
            pack=chosen_pack(runtime.settings),
            clock=runtime.clock,
            actor=ACTOR,
        ).id

    typer.echo(str(_run(work)))


@consent_app.command("grant")
def grant(
    subject: Annotated[str, typer.Argument(help="The subject's id.")],
    recipient: Annotated[str, typer.Argument(help="A recipient key of the pack.")],
    purpose: Annotated[str, typer.Argument(help="A purpose the recipient has a share for.")],
) -> None:
    """Record the subject's consent to sharing with RECIPIENT for PURPOSE; print its id."""
    _decide(subject, recipient, purpose, ConsentDecision.GRANT)


@consent_app.command("withdraw")
def withdraw(
    subject: Annotated[str, typer.Argument(help="The subject's id.")],
    recipient: Annotated[str, typer.Argument(help="A recipient key of the pack.")],
    purpose: Annotated[str, typer.Argument(help="A purpose the recipient has a share for.")],
) -> None:
    """Record the subject's withdrawal; the next flow is refused."""
    _decide(subject, recipient, purpose, ConsentDecision.WITHDRAW)


@consent_app.command("list")
def list_consents(subject: Annotated[str, typer.Argument(help="The subject's id.")]) -> None:
    """The subject's decisions, oldest first: id, recipient, purpose, decision, when."""
    subject_id = _uuid(subject, "subject id")

    def work(session: Session, _runtime: Runtime) -> list[str]:
        _subject(session, subject_id)
        rows = session.scalars(
            sa.select(RecipientConsent)
            .where(RecipientConsent.subject_id == subject_id)
            .order_by(RecipientConsent.decided_at, RecipientConsent.id)
        )
        return [
            f"{row.id}\t{row.recipient}\t{row.purpose}\t{row.decision.value}\t"
            f"{row.decided_at.isoformat()}"
            for row in rows
        ]

    for line in _run(work):
        typer.echo(line)


@demand_app.command("add")
def add_demand(  # noqa: PLR0917 (Typer: each option is a parameter)
    subject: Annotated[str, typer.Argument(help="The subject whose data is demanded.")],
    recipient: Annotated[str, typer.Option(help="The authority (a recipient key).")],
    purpose: Annotated[str, typer.Option(help="The purpose key it serves.")],
    authority: Annotated[str, typer.Option(help="The authority's name.")],
    legal_reference: Annotated[str, typer.Option(help="The law or process and reference.")],
    scope: Annotated[str, typer.Option(help="Data-map elements, comma-separated.")],
    approver: Annotated[str, typer.Option(help="The approving staff member's id.")],
) -> None:
    """Record a legal demand; print its id (the flow names it as ``demand_id``)."""
    subject_id = _uuid(subject, "subject id")
    staff_id = _uuid(approver, "approver")
    elements = [item.strip() for item in scope.split(",") if item.strip()]

    def work(session: Session, runtime: Runtime) -> uuid.UUID:
        _subject(session, subject_id)
        staff = session.execute(
            sa.text("SELECT 1 FROM staff_members WHERE id = :id"), {"id": staff_id}
        ).first()
        if staff is None:
            raise NotFoundError("no such staff member")
        known = frozenset(element for element, _ in personal_elements(schema_metadata()))
        return record_legal_demand(
            session,
            subject_id=subject_id,
            recipient=recipient,
            purpose=purpose,
            authority=authority,
            legal_reference=legal_reference,
            scope=elements,
            approved_by=f"staff:{staff_id}",
            known_elements=known,
            pack=chosen_pack(runtime.settings),
            clock=runtime.clock,
        ).id

    typer.echo(str(_run(work)))


def _demand_line(row: LegalDemand) -> str:
    return (
        f"{row.id}\t{row.subject_id}\t{row.recipient}\t{row.purpose}\t"
        f"{row.recorded_at.isoformat()}\t{','.join(row.scope)}"
    )


@demand_app.command("list")
def list_demands(
    subject: Annotated[str | None, typer.Option(help="Only this subject's demands.")] = None,
) -> None:
    """Recorded demands, oldest first: id, subject, recipient, purpose, when, scope."""
    subject_id = None if subject is None else _uuid(subject, "subject id")

    def work(session: Session, _runtime: Runtime) -> list[str]:
        query = sa.select(LegalDemand).order_by(LegalDemand.recorded_at, LegalDemand.id)
        if subject_id is not None:
            query = query.where(LegalDemand.subject_id == subject_id)
        return [_demand_line(row) for row in session.scalars(query)]

    for line in _run(work):
        typer.echo(line)


@demand_app.command("show")
def show_demand(demand: Annotated[str, typer.Argument(help="The demand's id.")]) -> None:
    """One demand: every field as recorded."""
    demand_id = _uuid(demand, "demand id")

    def work(session: Session, _runtime: Runtime) -> list[str]:
        row = session.get(LegalDemand, demand_id)
        if row is None:
            raise NotFoundError("no such legal demand")
        return [
            f"demand {row.id}",
            f"subject {row.subject_id}",
            f"recipient {row.recipient}",
            f"purpose {row.purpose}",
            f"authority {row.authority}",
            f"legal reference {row.legal_reference}",
            f"scope {','.join(row.scope)}",
            f"approved by {row.approved_by}",
            f"recorded {row.recorded_at.isoformat()}",
        ]

    for line in _run(work):
        typer.echo(line)


@app.command("recipients")
def recipients() -> None:
    """The pack's recipient registry: key, role, country, agreement, purposes shared."""

    def work(_session: Session, runtime: Runtime) -> list[str]:
        lines = []
        for key, policy in sorted(chosen_pack(runtime.settings).sharing.items()):
            agreement = policy.agreement
            signed = "-" if agreement is None else f"{agreement.type.value}:{agreement.reference}"
            shares = ",".join(sorted(policy.shares)) or "-"
            lines.append(f"{key}\t{policy.role.value}\t{policy.country or '-'}\t{signed}\t{shares}")
        return lines

    for line in _run(work):
        typer.echo(line)
