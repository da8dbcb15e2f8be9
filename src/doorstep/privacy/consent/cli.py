"""``doorstep consent …``: a subject's consent state, receipts and the verification key.

Output names purposes, states, channels, policy versions, instants and ids,
never a personal-data value; reading a subject's ledger goes through the
purpose gate (``consent.management``) and is audited as ``system:cli``.  The
shared helpers come from :mod:`doorstep.core.commands`.
"""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Annotated, Any

import typer

from doorstep.core.commands import cli_runtime, fail, load_cli_settings

app = typer.Typer(
    help="Consent ledger: current state by purpose, signed receipts and their verification.",
    no_args_is_help=True,
)

#: The ledger elements ``show`` reads (each use is checked and audited).
SHOWN_ELEMENTS = (
    "consent_events.purpose",
    "consent_events.action",
    "consent_events.channel",
    "consent_events.policy_version",
    "consent_events.occurred_at",
)
_STATES = {"grant": "granted", "refuse": "refused", "withdraw": "withdrawn"}


def _uuid(value: str, name: str) -> uuid.UUID:
    try:
        return uuid.UUID(value)
    except ValueError:
        fail(f"{name} must be a UUID", 2)


@app.command()
def show(
    subject_id: Annotated[str, typer.Argument(help="The subject's id (a UUID).")],
) -> None:
    """List the subject's current consent state for every consent-based purpose."""
    from doorstep.audit.entries import audited_transaction, system_actor
    from doorstep.core.models import schema_metadata
    from doorstep.privacy.consent.services import current_state
    from doorstep.privacy.datamap.chosen import chosen_pack
    from doorstep.privacy.purposes import PurposeGate

    subject = _uuid(subject_id, "SUBJECT_ID")
    settings = load_cli_settings()
    with (
        cli_runtime(settings, "doorstep-consent") as runtime,
        audited_transaction(runtime.sessions) as session,
    ):
        # The gate of the pack in force (built once: this command reads one subject).
        gate = PurposeGate.from_datamap(schema_metadata(), chosen_pack(settings))
        access = gate.for_subject(session, subject, actor=system_actor("cli"))
        for element in SHOWN_ELEMENTS:
            access.check(element, "consent.management", audit=True)
        state = current_state(session, subject)
    purposes = list(gate.terms.purposes)
    purposes += sorted(set(state) - set(purposes))
    width = max(len("purpose"), *(len(key) for key in purposes))
    typer.echo(f"consent state of subject {subject}")
    typer.echo(f"{'purpose':<{width}}  {'state':<9}  {'channel':<7}  {'policy':<8}  since")
    for key in purposes:
        record = state.get(key)
        if record is None:
            typer.echo(f"{key:<{width}}  {'not asked':<9}  {'-':<7}  {'-':<8}  -")
            continue
        typer.echo(
            f"{key:<{width}}  {_STATES[record.action.value]:<9}  {record.channel.value:<7}  "
            f"{record.policy_version:<8}  {record.occurred_at.isoformat()}"
        )


@app.command("receipt")
def receipt(
    event_id: Annotated[str, typer.Argument(help="The ledger event (receipt) id.")],
    out: Annotated[Path, typer.Option("--out", help="Write the signed receipt (JWS) here.")],
) -> None:
    """Sign the receipt of one ledger event and write it to a file (0600)."""
    from doorstep.audit.entries import audited_transaction, system_actor
    from doorstep.privacy.consent.receipts import issue_receipt
    from doorstep.privacy.consent.signing import signer_for
    from doorstep.privacy.consent.terms import load_terms
    from doorstep.privacy.datamap.chosen import chosen_pack

    event = _uuid(event_id, "EVENT_ID")
    settings = load_cli_settings()
    with (
        cli_runtime(settings, "doorstep-consent") as runtime,
        audited_transaction(runtime.sessions) as session,
    ):
        pack = chosen_pack(settings)
        token = issue_receipt(
            session,
            event,
            signer=signer_for(settings),
            actor=system_actor("cli"),
            pack=pack,
            terms=load_terms(pack),
        )
    out.touch(mode=0o600, exist_ok=True)
    out.write_text(token + "\n", encoding="ascii")
    typer.echo(f"receipt {event} written to {out}")


@app.command("verify-receipt")
def verify_receipt_command(
    file: Annotated[Path, typer.Argument(help="A file holding a receipt (compact JWS).")],
    jwk: Annotated[
        Path | None,
        typer.Option(help="The published public key (JWK or JWK Set); default: this install's."),
    ] = None,
) -> None:
    """Check a receipt's signature and fields; exit 1 when it does not verify."""
    from doorstep.core.errors import DoorstepError
    from doorstep.privacy.consent.receipts import ReceiptInvalidError, verify_receipt
    from doorstep.privacy.consent.signing import ReceiptSigner, receipt_key_path

    try:
        token = file.read_text(encoding="ascii").strip()
    except (OSError, UnicodeDecodeError):
        fail(f"cannot read a receipt from {file}", 2)
    key: Any
    try:
        if jwk is not None:
            key = json.loads(jwk.read_text(encoding="utf-8"))
            if isinstance(key, dict) and "keys" in key:
                key = _pick(key["keys"], token)
        else:
            key = ReceiptSigner.load(receipt_key_path(load_cli_settings()))
        claims = verify_receipt(token, key)
    except ReceiptInvalidError as exc:
        fail(f"receipt INVALID: {exc.detail}", 1)
    except (OSError, ValueError, DoorstepError) as exc:
        detail = exc.detail if isinstance(exc, DoorstepError) else "the key file is not a JWK"
        fail(detail, 2)
    event = claims["consentEvent"]
    purposes = [
        purpose.get("purposeKey", "?")
        for service in claims["services"]
        for purpose in service.get("purposes", [])
    ]
    typer.echo(
        f"receipt {claims['consentReceiptID']} is valid: consent {event.get('type')} for "
        f"{', '.join(purposes)} via {event.get('channel')} at {event.get('time')} "
        f"under policy {claims['notice'].get('policyVersion')} ({claims['jurisdiction']})"
    )


def _pick(keys: list[dict[str, Any]], token: str) -> dict[str, Any]:
    from joserfc.errors import JoseError

    from doorstep.privacy.consent.signing import unverified_header

    try:
        kid = unverified_header(token).get("kid")
    except JoseError:
        kid = None
    for key in keys:
        if key.get("kid") == kid:
            return key
    return keys[0] if keys else {}


@app.command("public-key")
def public_key() -> None:
    """Print the receipt-verification key as a JWK Set (public; safe to publish)."""
    from doorstep.privacy.consent.signing import signer_for

    typer.echo(json.dumps(signer_for(load_cli_settings()).jwks(), indent=2))
