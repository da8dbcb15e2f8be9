"""Third-party sign-in: link and unlink providers, sign in with one, share its token.

* A provider is linked by a signed-in subscriber (``intent=link``), after they
  authorise Doorstep at the provider (CORP-1.8).  Signing in with a provider
  (``intent=login``) works only for a linked account; password sign-in always
  stays available.  A flow cancelled at the provider stores nothing.
* The provider's access and refresh tokens are stored encrypted with the
  subject's own key (``secret=True`` columns); destroying the key at erasure
  shreds every copy.
* :func:`release_token` is how another Doorstep service gets the token so the
  subscriber is not asked again (CORP-1.9): only a service the subscriber chose
  when linking (``share_with``, from ``token_services``), and every release or
  refusal is audited.
* Unlinking (and erasure) deletes the tokens and asks the provider to revoke them.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import Session

from doorstep.accounts.account.lookup import require_open
from doorstep.accounts.account.models import AccountStatus
from doorstep.accounts.context import AccountContext
from doorstep.accounts.exceptions import (
    AuthenticationFailedError,
    TokenReleaseRefusedError,
    invalid,
)
from doorstep.accounts.sessions import tokens
from doorstep.accounts.thirdparty.models import THIRD_PARTY_SIGNIN, AccountIdentity, OidcFlow
from doorstep.accounts.thirdparty.oidc import ProviderClient, ProviderGrant
from doorstep.audit.entries import AuditEntry, subject_actor, system_actor
from doorstep.audit.services import record
from doorstep.core.errors import ConflictError, NotFoundError
from doorstep.privacy.datamap.record_sources import checked_source

SHARING = "account.token_sharing"
FLOW_TTL = timedelta(minutes=10)
_ACCESS, _REFRESH = "account_identities.access_token", "account_identities.refresh_token"


def provider(ctx: AccountContext, name: str) -> ProviderClient:
    """The configured provider ``name``; :class:`NotFoundError` when there is none."""
    config = ctx.settings.oidc_providers.get(name)
    if config is None:
        raise NotFoundError("no such sign-in provider", provider=name)
    return ProviderClient(
        name, config, clock=ctx.clock, timeout=ctx.settings.oidc_http_timeout_seconds
    )


def _state_hash(state: str) -> bytes:
    return hashlib.sha256(state.encode()).digest()


def start(
    session: Session,
    ctx: AccountContext,
    name: str,
    *,
    account_id: uuid.UUID | None = None,
    share_with: Sequence[str] = (),
) -> str:
    """Begin a flow (a link when ``account_id`` is given, else a sign-in); return the URL."""
    client = provider(ctx, name)
    unknown = sorted(set(share_with) - set(ctx.settings.token_services))
    if unknown:
        raise invalid(("share_with", "known_service"))
    if account_id is not None:
        require_open(session, account_id)
    state, nonce = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
    verifier = base64.urlsafe_b64encode(secrets.token_bytes(48)).rstrip(b"=").decode()
    session.add(
        OidcFlow(
            state_hash=_state_hash(state),
            provider=name,
            account_id=account_id,
            nonce=nonce,
            code_verifier=verifier,
            share_with=sorted(set(share_with)),
            expires_at=ctx.clock.now() + FLOW_TTL,
        )
    )
    session.flush()
    return client.authorization_url(state=state, nonce=nonce, code_verifier=verifier)


@dataclass(frozen=True, slots=True)
class FlowResult:
    """How a flow ended: ``linked``, ``signed_in`` (with tokens) or ``cancelled``."""

    outcome: str
    account_id: uuid.UUID | None = None
    tokens: tokens.IssuedTokens | None = None


def finish(
    session: Session,
    ctx: AccountContext,
    name: str,
    *,
    state: str,
    code: str | None,
    error: str | None,
) -> FlowResult:
    """Complete the flow the provider redirected back from (the flow is used up either way)."""
    flow = session.scalars(
        sa.select(OidcFlow)
        .where(OidcFlow.state_hash == _state_hash(state), OidcFlow.provider == name)
        .with_for_update()
    ).one_or_none()
    if flow is None or flow.expires_at <= ctx.clock.now():
        raise invalid(("state", "invalid_state"), detail="The sign-in has expired; start again.")
    session.delete(flow)
    session.flush()
    if error is not None or not code:
        return FlowResult("cancelled", flow.account_id)  # nothing of the provider's is stored
    grant = provider(ctx, name).exchange(
        code=code, code_verifier=flow.code_verifier, nonce=flow.nonce
    )
    existing = session.scalars(
        sa.select(AccountIdentity)
        .where(AccountIdentity.provider == name, AccountIdentity.provider_subject == grant.subject)
        .with_for_update()
    ).one_or_none()
    if flow.account_id is not None:
        if existing is not None and existing.account_id != flow.account_id:
            raise ConflictError(
                "This provider account is linked to another account.", reason="already_linked"
            )
        _store(
            session,
            ctx,
            flow.account_id,
            name,
            grant=grant,
            share_with=flow.share_with,
            row=existing,
        )
        return FlowResult("linked", flow.account_id)
    if existing is None:
        raise AuthenticationFailedError(
            "No account is linked to this provider account; sign in with your password and "
            "link the provider first."
        )
    account = require_open(session, existing.account_id)
    if account.status is not AccountStatus.ACTIVE or account.locked_at is not None:
        raise AuthenticationFailedError("This account cannot sign in.")
    _store(
        session, ctx, account.id, name, grant=grant, share_with=existing.share_with, row=existing
    )
    issued = tokens.issue(session, ctx, account.id)
    record(
        session,
        action="account.signed_in",
        actor=subject_actor(account.id),
        subject_id=account.id,
        purpose="account.authentication",
        details={"session": str(issued.session_id), "method": "oidc", "provider": name},
    )
    return FlowResult("signed_in", account.id, issued)


def _store(
    session: Session,
    ctx: AccountContext,
    account_id: uuid.UUID,
    name: str,
    *,
    grant: ProviderGrant,
    share_with: Sequence[str],
    row: AccountIdentity | None,
) -> None:
    source = checked_source(  # a new link is collected at third-party sign-in (CORP-1.1)
        AccountIdentity.__table__,
        THIRD_PARTY_SIGNIN,
        ctx.policy.pack if ctx.policy is not None else None,
    )
    access = ctx.gate.for_subject(session, account_id, actor=subject_actor(account_id))
    access.check("account_identities.provider_subject", "account.authentication", audit=True)
    access.check(_ACCESS, SHARING, audit=True)
    sealed = ctx.keys.encrypt(session, account_id, grant.access_token, context=_ACCESS)
    refresh = (
        ctx.keys.encrypt(session, account_id, grant.refresh_token, context=_REFRESH)
        if grant.refresh_token
        else None
    )
    now = ctx.clock.now()
    if row is None:
        row = AccountIdentity(
            id=uuid.uuid4(), account_id=account_id, provider=name, linked_at=now, source=source
        )
        session.add(row)
    row.provider_subject = grant.subject
    row.access_token, row.refresh_token = sealed, refresh
    row.token_expires_at, row.scope = grant.expires_at, grant.scope
    row.share_with = list(share_with)
    session.flush()
    record(
        session,
        action="account.provider_linked",
        actor=subject_actor(account_id),
        subject_id=account_id,
        purpose=SHARING,
        details={"provider": name, "identity": str(row.id), "shared_with": len(row.share_with)},
    )


@dataclass(frozen=True, slots=True)
class LinkedProvider:
    """A linked provider as the app shows it (no tokens)."""

    provider: str
    linked_at: datetime
    share_with: tuple[str, ...]


def linked(session: Session, account_id: uuid.UUID) -> list[LinkedProvider]:
    """The account's linked providers."""
    rows = session.scalars(
        sa.select(AccountIdentity)
        .where(AccountIdentity.account_id == account_id)
        .order_by(AccountIdentity.provider)
    )
    return [LinkedProvider(r.provider, r.linked_at, tuple(r.share_with)) for r in rows]


def unlink(session: Session, ctx: AccountContext, account_id: uuid.UUID, name: str) -> bool:
    """Delete the link and its tokens and ask the provider to revoke them; False if none."""
    row = session.scalars(
        sa.select(AccountIdentity)
        .where(AccountIdentity.account_id == account_id, AccountIdentity.provider == name)
        .with_for_update()
    ).one_or_none()
    if row is None:
        return False
    secrets_ = open_tokens(session, ctx, row)
    session.delete(row)
    session.flush()
    revoked = revoke_at_provider(ctx, name, secrets_)
    record(
        session,
        action="account.provider_unlinked",
        actor=subject_actor(account_id),
        subject_id=account_id,
        purpose=SHARING,
        details={"provider": name, "revoked": revoked},
    )
    return True


def open_tokens(
    session: Session, ctx: AccountContext, row: AccountIdentity
) -> list[tuple[str, str]]:
    """``[(hint, token)]`` of a link, decrypted (for revocation)."""
    found = [
        (
            "access_token",
            ctx.keys.decrypt(session, row.account_id, row.access_token, context=_ACCESS),
        )
    ]
    if row.refresh_token is not None:
        found.append(
            (
                "refresh_token",
                ctx.keys.decrypt(session, row.account_id, row.refresh_token, context=_REFRESH),
            )
        )
    return [(hint, value.decode()) for hint, value in found]


def revoke_at_provider(ctx: AccountContext, name: str, secrets_: list[tuple[str, str]]) -> bool:
    """Revoke each token at the provider; True when every revocation succeeded."""
    if name not in ctx.settings.oidc_providers:
        return False
    client = provider(ctx, name)
    return all([client.revoke(token, hint=hint) for hint, token in secrets_])  # noqa: C419  (revoke every token, not just until the first failure)


@dataclass(frozen=True, slots=True)
class ReleasedToken:
    """A provider access token released to a Doorstep service."""

    provider: str
    access_token: str
    expires_at: datetime | None


def release_token(
    session: Session,
    ctx: AccountContext,
    *,
    subject_id: uuid.UUID,
    provider_name: str,
    service: str,
) -> ReleasedToken:
    """The subscriber's token at ``provider_name``, for a ``service`` they shared it with.

    Raises :class:`TokenReleaseRefusedError` (audited, kept on record across a
    rollback) for any other service, :class:`NotFoundError` when not linked, and
    :class:`AccountDeregisteredError` for a closed account.
    """
    account = require_open(session, subject_id)
    row = session.scalars(
        sa.select(AccountIdentity).where(
            AccountIdentity.account_id == account.id, AccountIdentity.provider == provider_name
        )
    ).one_or_none()
    if row is None:
        raise NotFoundError("the provider is not linked", provider=provider_name)
    known = service in ctx.settings.token_services
    actor = system_actor(service if known else "unknown_service")
    if service not in row.share_with or account.status is not AccountStatus.ACTIVE:
        entry = AuditEntry(
            action="account.provider_token_released",
            actor=actor,
            subject_id=account.id,
            purpose=SHARING,
            element=_ACCESS,
            outcome="refused",
            details={"provider": provider_name, "reason": "not_shared_with_service"},
        )
        entry.write(session)
        raise TokenReleaseRefusedError(
            entry,
            "The subscriber has not shared this token with the service.",
            provider=provider_name,
        )
    access = ctx.gate.for_subject(session, account.id, actor=actor)
    access.check(_ACCESS, SHARING, audit=True, details={"provider": provider_name})
    token = ctx.keys.decrypt(session, account.id, row.access_token, context=_ACCESS)
    return ReleasedToken(provider_name, token.decode(), row.token_expires_at)
