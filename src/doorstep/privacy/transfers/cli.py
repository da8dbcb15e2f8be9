"""``doorstep transfers …``: mechanisms, home countries, the register, locations, drift.

* ``mechanism add KIND COUNTRY --reference … [--recipient] [--signed-on] [--expires-on]``
  and ``mechanism revoke ID``, ``mechanism list``: the operator's transfer mechanisms;
* ``home SUBJECT COUNTRY``: record a subject's country of collection;
* ``register [--format json|csv]``: the transfer register, beside ``datamap ropa``;
* ``locations``: each store region, its country and what covers it (exit 1 when a
  foreign region is covered by nothing: CPE-IV.1.d);
* ``drift``: schema-drift counts (source, model, path, purpose), no values.

Output holds ids, codes, countries and references, never a value of personal data.
Bad input exits 2 with nothing changed; an unknown id exits 1.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from dataclasses import asdict
from datetime import date
from typing import Annotated, TypeVar

import typer
from sqlalchemy.orm import Session

from doorstep.core.commands import cli_runtime, fail, load_cli_settings
from doorstep.core.errors import DoorstepError, InvalidInputError
from doorstep.core.runtime import Runtime
from doorstep.privacy.datamap.chosen import chosen_pack
from doorstep.privacy.transfers.ingestion import drift
from doorstep.privacy.transfers.mechanisms import (
    add_mechanism,
    mechanisms,
    revoke_mechanism,
    set_home,
)
from doorstep.privacy.transfers.models import MechanismKind
from doorstep.privacy.transfers.policy import transfer_policy
from doorstep.privacy.transfers.register import locations, register_csv, register_rows

app = typer.Typer(
    help="Cross-border transfers: mechanisms, home countries, the register, locations, drift."
)
mechanism_app = typer.Typer(help="The operator's transfer mechanisms.", no_args_is_help=True)
app.add_typer(mechanism_app, name="mechanism")
T = TypeVar("T")
ACTOR = "system:cli"


def _run(work: Callable[[Session, Runtime], T]) -> T:
    with cli_runtime(load_cli_settings(), "doorstep-transfers") as runtime:
        try:
            with runtime.sessions.begin() as session:
                return work(session, runtime)
        except InvalidInputError as exc:
            fail(exc.detail, 2)
        except DoorstepError as exc:
            fail(exc.detail, 1)


def _date(value: str | None, what: str) -> date | None:
    try:
        return None if value is None else date.fromisoformat(value)
    except ValueError:
        fail(f"{what} must be a date (YYYY-MM-DD)", 2)


def _uuid(value: str, what: str) -> uuid.UUID:
    try:
        return uuid.UUID(value)
    except ValueError:
        fail(f"the {what} must be a UUID", 2)


@mechanism_app.command("add")
def add(
    kind: Annotated[str, typer.Argument(help="adequacy, standard_contract or binding_rules")],
    country: Annotated[str, typer.Argument(help="Destination country (ISO 3166-1 alpha-2).")],
    *,
    reference: Annotated[str, typer.Option(help="The document's reference.")],
    recipient: Annotated[str | None, typer.Option(help="Only this recipient key.")] = None,
    signed_on: Annotated[str | None, typer.Option(help="YYYY-MM-DD")] = None,
    expires_on: Annotated[
        str | None, typer.Option(help="YYYY-MM-DD, first day not covered")
    ] = None,
) -> None:
    """Record a mechanism covering transfers to COUNTRY; print its id."""
    if kind not in {k.value for k in MechanismKind} - {MechanismKind.CONSENT.value}:
        fail("kind must be adequacy, standard_contract or binding_rules", 2)
    signed, expires = _date(signed_on, "--signed-on"), _date(expires_on, "--expires-on")
    found = _run(
        lambda session, runtime: add_mechanism(
            session,
            kind=MechanismKind(kind),
            country=country,
            reference=reference,
            recipient=recipient,
            signed_on=signed,
            expires_on=expires,
            clock=runtime.clock,
            actor=ACTOR,
        )
    )
    typer.echo(str(found.id))


@mechanism_app.command("revoke")
def revoke(mechanism_id: str) -> None:
    """Revoke a mechanism: transfers relying on it stop from now on."""
    key = _uuid(mechanism_id, "mechanism id")
    _run(lambda session, runtime: revoke_mechanism(session, key, clock=runtime.clock, actor=ACTOR))
    typer.echo(f"revoked {key}")


@mechanism_app.command("list")
def list_mechanisms() -> None:
    """The mechanisms in force (not revoked), by country."""
    for item in _run(lambda session, runtime: mechanisms(session)):
        typer.echo(
            f"{item.id}  {item.country}  {item.kind.value}  {item.recipient or '*'}  "
            f"{item.reference}  {item.signed_on or '-'}..{item.expires_on or '-'}"
        )


@app.command("home")
def home(subject_id: str, country: str) -> None:
    """Record SUBJECT's country of collection."""
    key = _uuid(subject_id, "subject id")
    _run(lambda s, r: set_home(s, key, country, clock=r.clock, actor=ACTOR))
    typer.echo(f"home of {key} recorded")


@app.command("register")
def register(
    format: Annotated[str, typer.Option("--format", help="json or csv")] = "json",
) -> None:
    """The transfer register (every transfer, oldest first)."""
    if format not in {"json", "csv"}:
        fail("--format must be json or csv", 2)
    rows = _run(lambda session, runtime: register_rows(session))
    if format == "csv":
        typer.echo(register_csv(rows), nl=False)
    else:
        typer.echo(json.dumps([asdict(row) for row in rows], default=str, indent=2))


@app.command("locations")
def show_locations() -> None:
    """Each store region: country, foreign or not, and what covers it."""

    def work(session: Session, runtime: Runtime) -> list[str]:
        policy = transfer_policy(chosen_pack(runtime.settings))
        lines = []
        for item in locations(session, policy):
            cover = "home" if not item.foreign else item.safeguard or ", ".join(item.mechanisms)
            lines.append(f"{item.region}  {item.country}  {cover or 'NOT COVERED'}")
        return lines

    lines = _run(work)
    for line in lines:
        typer.echo(line)
    if any(line.endswith("NOT COVERED") for line in lines):
        raise typer.Exit(1)


@app.command("drift")
def show_drift() -> None:
    """Schema-drift counts: what devices and clients sent that no purpose declares."""
    for item in _run(lambda session, runtime: drift(session)):
        typer.echo(
            f"{item.source.value}  {item.model}  {item.path}  {item.purpose}  {item.count}  "
            f"{item.last_seen.isoformat()}"
        )
