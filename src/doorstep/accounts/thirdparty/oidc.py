"""OpenID Connect client: discovery, authorization URL, code exchange, ID-token checks, revocation.

Everything is real HTTP to the provider (``httpx2``; Authlib builds the
authorization URL with PKCE S256 and performs the code exchange and token
revocation).  The ID token is checked with ``joserfc`` against the provider's
JWKS: signature (asymmetric algorithms only, never ``none`` or HMAC), ``iss``
equal to the discovered issuer, ``aud`` containing our client id, ``exp`` and
``iat`` against the injected clock (60 s leeway), ``nonce`` equal to the one
this flow sent, and a ``sub``.  Discovery documents and key sets are cached
per issuer for five minutes; an unknown ``kid`` refetches the key set once.

Errors never carry the provider's reply (it can quote tokens or addresses):
:class:`ProviderError` names the step that failed.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import httpx2
from authlib.integrations.httpx_client import OAuth2Client  # type: ignore[import-untyped]
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet

from doorstep.core.clock import Clock
from doorstep.core.errors import DoorstepError
from doorstep.core.settings import OidcProviderSettings

ALGORITHMS = ("RS256", "PS256", "ES256")
CACHE_TTL = timedelta(minutes=5)
LEEWAY_SECONDS = 60
#: Build the HTTP transport (tests and benchmarks may pass their own); None: the network.
TransportFactory = Callable[[], httpx2.BaseTransport | None]


class ProviderError(DoorstepError):
    """A sign-in provider failed or answered something we cannot trust; ``step`` says where."""

    code = "sign-in-provider-error"
    status = 502
    title = "Sign-in provider error"


@dataclass(frozen=True, slots=True)
class ProviderMetadata:
    """The parts of a discovery document we use."""

    issuer: str
    authorization_endpoint: str
    token_endpoint: str
    jwks_uri: str
    revocation_endpoint: str | None


@dataclass(frozen=True, slots=True)
class ProviderGrant:
    """What a successful code exchange yields, the ID token already checked."""

    subject: str
    access_token: str
    refresh_token: str | None
    expires_at: datetime | None
    scope: str


_cache: dict[str, tuple[datetime, ProviderMetadata, dict[str, Any]]] = {}
_cache_lock = threading.Lock()


class ProviderClient:
    """One configured provider.  Cheap to build; discovery is cached per issuer."""

    def __init__(
        self,
        name: str,
        config: OidcProviderSettings,
        *,
        clock: Clock,
        timeout: float,
        transport: httpx2.BaseTransport | None = None,
    ) -> None:
        self.name = name
        self.config = config
        self.clock = clock
        self.timeout = timeout
        self.transport = transport

    def _http(self) -> httpx2.Client:
        return httpx2.Client(timeout=self.timeout, transport=self.transport)

    def _oauth(self) -> Any:
        scopes = " ".join(dict.fromkeys(("openid", *self.config.scopes)))
        return OAuth2Client(
            client_id=self.config.client_id,
            client_secret=self.config.client_secret.get_secret_value(),
            scope=scopes,
            redirect_uri=self.config.redirect_uri,
            code_challenge_method="S256",
            timeout=self.timeout,
            transport=self.transport,
        )

    def _get_json(self, url: str, step: str) -> dict[str, Any]:
        try:
            with self._http() as http:
                response = http.get(url, headers={"Accept": "application/json"})
                response.raise_for_status()
                data = response.json()
        except (httpx2.HTTPError, ValueError):
            raise ProviderError(f"the provider's {step} could not be read", step=step) from None
        if not isinstance(data, dict):
            raise ProviderError(f"the provider's {step} is not a JSON object", step=step)
        return data

    def _load(self, *, refresh_keys: bool = False) -> tuple[ProviderMetadata, dict[str, Any]]:
        now = self.clock.now()
        issuer = self.config.issuer.rstrip("/")
        with _cache_lock:
            cached = _cache.get(issuer)
        if cached is not None and now - cached[0] < CACHE_TTL and not refresh_keys:
            return cached[1], cached[2]
        if cached is not None and now - cached[0] < CACHE_TTL:
            metadata = cached[1]
        else:
            metadata = self._discover(issuer)
        jwks = self._get_json(metadata.jwks_uri, "jwks")
        with _cache_lock:
            _cache[issuer] = (now, metadata, jwks)
        return metadata, jwks

    def _discover(self, issuer: str) -> ProviderMetadata:
        data = self._get_json(f"{issuer}/.well-known/openid-configuration", "discovery")
        try:
            metadata = ProviderMetadata(
                issuer=str(data["issuer"]),
                authorization_endpoint=str(data["authorization_endpoint"]),
                token_endpoint=str(data["token_endpoint"]),
                jwks_uri=str(data["jwks_uri"]),
                revocation_endpoint=(
                    str(data["revocation_endpoint"]) if data.get("revocation_endpoint") else None
                ),
            )
        except KeyError:
            raise ProviderError("the discovery document is incomplete", step="discovery") from None
        if metadata.issuer.rstrip("/") != issuer:
            raise ProviderError("the discovery document names another issuer", step="discovery")
        return metadata

    def metadata(self) -> ProviderMetadata:
        """The provider's discovery document (cached)."""
        return self._load()[0]

    def authorization_url(self, *, state: str, nonce: str, code_verifier: str) -> str:
        """Where to send the browser: the provider's consent screen for this flow."""
        endpoint = self.metadata().authorization_endpoint
        with self._oauth() as client:
            url, _ = client.create_authorization_url(
                endpoint, state=state, nonce=nonce, code_verifier=code_verifier
            )
        return str(url)

    def exchange(self, *, code: str, code_verifier: str, nonce: str) -> ProviderGrant:
        """Trade the authorization code for tokens and check the ID token."""
        metadata = self.metadata()
        try:
            with self._oauth() as client:
                token = dict(
                    client.fetch_token(
                        metadata.token_endpoint, code=code, code_verifier=code_verifier
                    )
                )
        except Exception:  # Authlib raises OAuthError, httpx2 its own: both mean "no tokens"
            raise ProviderError("the code exchange failed", step="token") from None
        id_token, access = token.get("id_token"), token.get("access_token")
        if not isinstance(id_token, str) or not isinstance(access, str):
            raise ProviderError("the provider sent no ID token or access token", step="token")
        claims = self.check_id_token(id_token, nonce=nonce)
        expires_in = token.get("expires_in")
        refresh = token.get("refresh_token")
        return ProviderGrant(
            subject=str(claims["sub"]),
            access_token=access,
            refresh_token=refresh if isinstance(refresh, str) else None,
            expires_at=(
                self.clock.now() + timedelta(seconds=int(expires_in))
                if isinstance(expires_in, int | float)
                else None
            ),
            scope=str(token.get("scope") or ""),
        )

    def check_id_token(self, id_token: str, *, nonce: str) -> dict[str, Any]:
        """Verify signature and claims of an ID token; return its claims."""
        metadata, jwks = self._load()
        try:
            try:
                decoded = jwt.decode(id_token, KeySet.import_key_set(jwks), algorithms=ALGORITHMS)  # type: ignore[arg-type]
            except JoseError:
                _, jwks = self._load(refresh_keys=True)  # a rotated key: fetch the set once more
                decoded = jwt.decode(id_token, KeySet.import_key_set(jwks), algorithms=ALGORITHMS)  # type: ignore[arg-type]
            jwt.JWTClaimsRegistry(
                now=int(self.clock.now().timestamp()),
                leeway=LEEWAY_SECONDS,
                iss={"essential": True, "value": metadata.issuer},
                aud={"essential": True, "value": self.config.client_id},
                sub={"essential": True},
                exp={"essential": True},
                iat={"essential": True},
                nonce={"essential": True, "value": nonce},
            ).validate(decoded.claims)
        except (JoseError, ValueError, TypeError):
            raise ProviderError("the ID token is not valid", step="id_token") from None
        return dict(decoded.claims)

    def revoke(self, token: str, *, hint: str) -> bool:
        """Ask the provider to revoke ``token`` (RFC 7009); False when it cannot or failed."""
        try:
            endpoint = self.metadata().revocation_endpoint
            if endpoint is None:
                return False
            with self._oauth() as client:
                response = client.revoke_token(endpoint, token=token, token_type_hint=hint)
            return bool(response.status_code == 200)
        except Exception:  # a provider that is down must not stop an unlink or an erasure
            return False


def clear_cache() -> None:
    """Forget cached discovery documents and key sets (tests, key rotation by hand)."""
    with _cache_lock:
        _cache.clear()
