"""Third-party sign-in end to end against a real OpenID Connect provider on loopback:
discovery, code exchange with PKCE, ID-token checks, encrypted tokens shared only with the
services a subscriber chose, unlinking that revokes, and erasure that shreds."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs, urlparse

import httpx2
import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from pydantic import SecretStr
from sqlalchemy.orm import Session

from doorstep.accounts.context import AccountContext
from doorstep.accounts.deregistration.erasure import erase_account
from doorstep.accounts.exceptions import TokenReleaseRefusedError
from doorstep.accounts.thirdparty import oidc
from doorstep.accounts.thirdparty.providers import release_token
from doorstep.audit.services import flush_events
from doorstep.core.clock import FakeClock
from doorstep.core.runtime import Runtime
from doorstep.core.settings import OidcProviderSettings
from doorstep.keys.exceptions import KeyDestroyedError
from tests.accounts.conftest import (
    PASSWORD,
    PREFIX,
    activate,
    bearer,
    make_client,
    sign_in,
    unique_email,
    unique_phone,
    with_settings,
)
from tests.accounts.oidc_provider import CLIENT_ID, CLIENT_SECRET, Provider

CALLBACK = "http://testserver/api/v1/accounts/oidc/acme/callback"


@pytest.fixture
def provider(clock: FakeClock) -> Iterator[Provider]:
    oidc.clear_cache()
    server = Provider(clock).start()
    yield server
    server.stop()
    oidc.clear_cache()


@pytest.fixture
def oidc_runtime(runtime: Runtime, provider: Provider) -> Runtime:
    return with_settings(
        runtime,
        oidc_providers={
            "acme": OidcProviderSettings(
                issuer=provider.issuer,
                client_id=CLIENT_ID,
                client_secret=SecretStr(CLIENT_SECRET),
                redirect_uri=CALLBACK,
                scopes=("openid", "profile"),
            )
        },
        token_services=("voice_assistant", "cloud_backup"),
    )


@pytest.fixture
def client(oidc_runtime: Runtime) -> Iterator[TestClient]:
    yield from make_client(oidc_runtime)


def _consent_at_provider(url: str) -> dict[str, str]:
    """What the browser does: open the provider's page, come back with its answer."""
    with httpx2.Client() as browser:
        answer = browser.get(url, follow_redirects=False)
    assert answer.status_code == 302
    location = urlparse(answer.headers["location"])
    assert f"{location.scheme}://{location.netloc}{location.path}" == CALLBACK
    return {key: values[0] for key, values in parse_qs(location.query).items()}


def _link(client: TestClient, token: str, share_with: list[str]) -> Any:
    start = client.post(
        f"{PREFIX}/me/providers/acme",
        headers=bearer(token),
        json={"intent": "link", "share_with": share_with},
    )
    assert start.status_code == 200, start.text
    url = start.json()["authorization_url"]
    query = parse_qs(urlparse(url).query)
    assert query["code_challenge_method"] == ["S256"] and query["nonce"] and query["state"]
    return client.get(f"{PREFIX}/oidc/acme/callback", params=_consent_at_provider(url))


def _signed_in(client: TestClient, db: Session) -> tuple[uuid.UUID, str]:
    email = unique_email()
    account_id = activate(client, db, email=email, phone=unique_phone())
    return account_id, sign_in(client, email).json()["access_token"]


@pytest.mark.clause("CORP-1.9")
def test_a_linked_providers_token_is_kept_encrypted_and_shared_only_as_chosen(
    client: TestClient, db: Session, provider: Provider, oidc_runtime: Runtime
) -> None:
    account_id, token = _signed_in(client, db)
    linked = _link(client, token, ["voice_assistant"])
    assert linked.status_code == 200 and linked.json() == {"outcome": "linked", "tokens": None}
    issued = provider.issued[-1]
    row = db.execute(sa.text("SELECT * FROM account_identities")).one()
    assert row.provider_subject == "provider-user-1"
    assert issued["access_token"].encode() not in bytes(row.access_token)
    assert issued["refresh_token"].encode() not in bytes(row.refresh_token)

    ctx = AccountContext.for_runtime(oidc_runtime)
    released = release_token(
        db, ctx, subject_id=account_id, provider_name="acme", service="voice_assistant"
    )
    assert released.access_token == issued["access_token"]
    with pytest.raises(TokenReleaseRefusedError):
        release_token(db, ctx, subject_id=account_id, provider_name="acme", service="cloud_backup")
    flush_events(db)
    outcomes = db.execute(
        sa.text(
            "SELECT actor, outcome FROM audit_events "
            "WHERE element = 'account_identities.access_token' "
            "AND purpose = 'account.token_sharing' AND actor LIKE 'system:%' ORDER BY id"
        )
    ).all()
    assert [tuple(o) for o in outcomes] == [
        ("system:voice_assistant", "ok"),
        ("system:cloud_backup", "refused"),
    ]
    assert client.get(f"{PREFIX}/me", headers=bearer(token)).json()["providers"][0][
        "share_with"
    ] == ["voice_assistant"]

    assert client.delete(f"{PREFIX}/me/providers/acme", headers=bearer(token)).status_code == 204
    assert db.execute(sa.text("SELECT count(*) FROM account_identities")).scalar_one() == 0
    assert sorted(provider.revoked) == sorted(
        [("access_token", issued["access_token"]), ("refresh_token", issued["refresh_token"])]
    )


@pytest.mark.clause("CORP-1.8")
def test_cancelling_at_the_provider_stores_nothing_and_password_sign_in_stays(
    client: TestClient, db: Session, provider: Provider
) -> None:
    account_id, token = _signed_in(client, db)
    provider.decision = "cancel"
    cancelled = _link(client, token, [])
    assert cancelled.json() == {"outcome": "cancelled", "tokens": None}
    assert db.execute(sa.text("SELECT count(*) FROM account_identities")).scalar_one() == 0
    assert db.execute(sa.text("SELECT count(*) FROM account_oidc_flows")).scalar_one() == 0
    assert provider.issued == []
    email = db.execute(
        sa.text("SELECT email FROM accounts WHERE id = :i"), {"i": account_id}
    ).scalar_one()
    assert sign_in(client, email, PASSWORD).status_code == 201


def test_signing_in_with_a_linked_provider_opens_a_session(
    client: TestClient, db: Session, provider: Provider
) -> None:
    account_id, token = _signed_in(client, db)
    _link(client, token, [])
    start = client.post(f"{PREFIX}/oidc/acme/start", json={"intent": "login"})
    answer = client.get(
        f"{PREFIX}/oidc/acme/callback",
        params=_consent_at_provider(start.json()["authorization_url"]),
    )
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["outcome"] == "signed_in"
    me = client.get(f"{PREFIX}/me", headers=bearer(body["tokens"]["access_token"]))
    assert me.json()["id"] == str(account_id)


def test_a_provider_account_not_linked_cannot_sign_in(
    client: TestClient, provider: Provider
) -> None:
    provider.subject = "a-stranger"
    start = client.post(f"{PREFIX}/oidc/acme/start", json={"intent": "login"})
    answer = client.get(
        f"{PREFIX}/oidc/acme/callback",
        params=_consent_at_provider(start.json()["authorization_url"]),
    )
    assert answer.status_code == 401


@pytest.mark.parametrize("tamper", ["nonce", "audience", "issuer", "expired", "signature", "hmac"])
def test_an_id_token_that_fails_a_check_links_nothing(
    client: TestClient, db: Session, provider: Provider, tamper: str
) -> None:
    _, token = _signed_in(client, db)
    provider.tamper = tamper
    answer = _link(client, token, [])
    assert answer.status_code == 502, answer.text
    assert answer.json()["step"] == "id_token"
    assert db.execute(sa.text("SELECT count(*) FROM account_identities")).scalar_one() == 0


def test_a_replayed_or_unknown_state_is_refused(client: TestClient, db: Session) -> None:
    _, token = _signed_in(client, db)
    start = client.post(
        f"{PREFIX}/me/providers/acme", headers=bearer(token), json={"intent": "link"}
    )
    params = _consent_at_provider(start.json()["authorization_url"])
    assert client.get(f"{PREFIX}/oidc/acme/callback", params=params).status_code == 200
    replay = client.get(f"{PREFIX}/oidc/acme/callback", params=params)
    assert replay.status_code == 422
    assert replay.json()["errors"] == [{"field": "state", "rule": "invalid_state"}]


def test_only_configured_services_can_be_chosen(client: TestClient, db: Session) -> None:
    _, token = _signed_in(client, db)
    response = client.post(
        f"{PREFIX}/me/providers/acme",
        headers=bearer(token),
        json={"intent": "link", "share_with": ["ads"]},
    )
    assert response.status_code == 422
    assert response.json()["errors"] == [{"field": "share_with", "rule": "known_service"}]


@pytest.mark.clause("CORP-1.9")
def test_deregistration_revokes_the_providers_tokens_and_shreds_them(
    client: TestClient, db: Session, provider: Provider, oidc_runtime: Runtime
) -> None:
    account_id, token = _signed_in(client, db)
    _link(client, token, ["voice_assistant"])
    sealed = bytes(db.execute(sa.text("SELECT access_token FROM account_identities")).scalar_one())
    issued = provider.issued[-1]
    done = client.post(
        f"{PREFIX}/me/deregistration", headers=bearer(token), json={"password": PASSWORD}
    )
    assert done.status_code == 200
    ctx = AccountContext.for_runtime(oidc_runtime)
    assert erase_account(oidc_runtime.sessions, ctx, account_id)
    assert ("access_token", issued["access_token"]) in provider.revoked
    assert db.execute(sa.text("SELECT count(*) FROM account_identities")).scalar_one() == 0
    with pytest.raises(KeyDestroyedError):  # a copy from a backup opens no more
        ctx.keys.decrypt(db, account_id, sealed, context="account_identities.access_token")
