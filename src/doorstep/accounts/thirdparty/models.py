"""Third-party sign-in: the ``account_oidc_flows`` and ``account_identities`` tables.

A flow holds the SHA-256 of its state value; a linked provider's tokens are
encrypted with the subject's own key (``secret=True``, so destroying the key
shreds them).
"""

from __future__ import annotations

import uuid
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Mapped, mapped_column

from doorstep.accounts.account.datamap import auth_state, registration
from doorstep.core.models import Base
from doorstep.privacy.datamap.record_sources import source_column_info
from doorstep.vocabulary import described, not_personal


class OidcFlow(Base):
    """A third-party sign-in in progress: what the callback must match."""

    __tablename__ = "account_oidc_flows"

    state_hash: Mapped[bytes] = mapped_column(
        sa.LargeBinary, primary_key=True, info=not_personal("SHA-256 of a random state value")
    )
    provider: Mapped[str] = mapped_column(
        sa.Text, info=not_personal("configured provider name", export=True)
    )
    account_id: Mapped[uuid.UUID | None] = mapped_column(
        sa.ForeignKey("accounts.id", ondelete="CASCADE"),
        index=True,
        info=auth_state(
            "user.unique_id.pseudonymous",
            "The account that links the provider (none for a sign-in).",
            retention="sign_in_flow",
        ),
    )
    nonce: Mapped[str] = mapped_column(sa.Text, info=not_personal("random nonce"))
    code_verifier: Mapped[str] = mapped_column(sa.Text, info=not_personal("random PKCE verifier"))
    share_with: Mapped[list[str]] = mapped_column(
        ARRAY(sa.Text),
        info=not_personal("names of Doorstep services from the settings", export=True),
    )
    expires_at: Mapped[datetime] = mapped_column(info=not_personal("end of the flow", export=True))


_LINK_PURPOSES = ("account.authentication", "account.token_sharing", "privacy.rights")
_LINK_CLAUSES = ("CORP-1.8", "CORP-1.9")
#: The collection point of a linked provider (CORP-1.1): third-party sign-in.
THIRD_PARTY_SIGNIN = "third_party_signin"


class AccountIdentity(Base):
    """A linked third-party provider account, with its tokens encrypted for the subject."""

    __tablename__ = "account_identities"

    id: Mapped[uuid.UUID] = mapped_column(
        primary_key=True, info=not_personal("random id of the link", export=True)
    )
    account_id: Mapped[uuid.UUID] = mapped_column(
        sa.ForeignKey("accounts.id", ondelete="CASCADE"),
        index=True,
        info=registration(
            "user.unique_id.pseudonymous", "The linked account.", purposes=_LINK_PURPOSES
        ),
    )
    provider: Mapped[str] = mapped_column(
        sa.Text,
        info=registration("user.account", "Which provider is linked.", purposes=_LINK_PURPOSES),
    )
    provider_subject: Mapped[str] = mapped_column(
        sa.Text,
        info=registration(
            "user.unique_id",
            "The provider's id of the person (the ID token's sub).",
            purposes=_LINK_PURPOSES,
            clauses=_LINK_CLAUSES,
        ),
    )
    access_token: Mapped[bytes] = mapped_column(
        sa.LargeBinary,
        info=registration(
            "user.authorization.credentials",
            "The provider's access token, encrypted with the subject's key.",
            purposes=("account.token_sharing",),
            clauses=_LINK_CLAUSES,
            secret=True,
            export=described(
                "An access token from the provider is held, valid until {token_expires_at}.",
                reason="a credential: whoever holds it can act at the provider in your name",
            ),
        ),
    )
    refresh_token: Mapped[bytes | None] = mapped_column(
        sa.LargeBinary,
        info=registration(
            "user.authorization.credentials",
            "The provider's refresh token, encrypted with the subject's key.",
            purposes=("account.token_sharing",),
            clauses=_LINK_CLAUSES,
            secret=True,
            export=described(
                "A refresh token from the provider is held.",
                reason="a credential: whoever holds it can get new access tokens in your name",
            ),
        ),
    )
    token_expires_at: Mapped[datetime | None] = mapped_column(
        info=registration("user.account", "When the access token expires.", purposes=_LINK_PURPOSES)
    )
    scope: Mapped[str] = mapped_column(
        sa.Text,
        info=registration("user.account.settings", "Scopes granted.", purposes=_LINK_PURPOSES),
    )
    share_with: Mapped[list[str]] = mapped_column(
        ARRAY(sa.Text),
        info=registration(
            "user.privacy_preferences",
            "The Doorstep services the subscriber lets use the token.",
            purposes=_LINK_PURPOSES,
            clauses=_LINK_CLAUSES,
        ),
    )
    linked_at: Mapped[datetime] = mapped_column(
        info=registration("user.account", "When the provider was linked.", purposes=_LINK_PURPOSES)
    )
    source: Mapped[str] = mapped_column(sa.Text, info=source_column_info(THIRD_PARTY_SIGNIN))

    __table_args__ = (
        sa.UniqueConstraint("provider", "provider_subject", name="uq_account_identities_subject"),
        sa.UniqueConstraint("account_id", "provider", name="uq_account_identities_account"),
    )
