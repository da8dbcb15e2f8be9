"""A small but real OpenID Connect provider for the tests, served by uvicorn on loopback.

Discovery document, JWKS (RSA, RS256), an authorization endpoint that "asks the
user" (``decision`` says whether they approve or cancel) and redirects back with
a code, a token endpoint (client_secret_basic, PKCE S256 checked) that issues an
access token, a refresh token and a signed ID token, and an RFC 7009 revocation
endpoint that records what it revoked.  ``tamper`` makes the next ID token wrong
in one way, to prove the client checks it.  Time comes from the test's clock.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
import socket
import threading
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlencode

import uvicorn
from joserfc import jwt
from joserfc.jwk import KeySet, OctKey, RSAKey
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import Route

from doorstep.core.clock import Clock

CLIENT_ID = "doorstep-test-client"
CLIENT_SECRET = "doorstep-test-secret"


def free_port() -> int:
    """A free TCP port on 127.0.0.1."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class Provider:
    """The provider's state; ``issuer`` is its base URL."""

    clock: Clock
    port: int = field(default_factory=free_port)
    subject: str = "provider-user-1"
    decision: str = "approve"
    tamper: str | None = None
    codes: dict[str, dict[str, Any]] = field(default_factory=dict)
    issued: list[dict[str, str]] = field(default_factory=list)
    revoked: list[tuple[str, str]] = field(default_factory=list)
    key: RSAKey = field(
        default_factory=lambda: RSAKey.generate_key(2048, parameters={"kid": "k1", "use": "sig"})
    )
    _server: uvicorn.Server | None = None
    _thread: threading.Thread | None = None

    @property
    def issuer(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    # -- endpoints ---------------------------------------------------------------------------

    async def discovery(self, request: Request) -> Response:
        return JSONResponse(
            {
                "issuer": self.issuer,
                "authorization_endpoint": f"{self.issuer}/authorize",
                "token_endpoint": f"{self.issuer}/token",
                "jwks_uri": f"{self.issuer}/jwks",
                "revocation_endpoint": f"{self.issuer}/revoke",
                "response_types_supported": ["code"],
                "subject_types_supported": ["public"],
                "id_token_signing_alg_values_supported": ["RS256"],
                "code_challenge_methods_supported": ["S256"],
            }
        )

    async def jwks(self, request: Request) -> Response:
        return JSONResponse(KeySet([self.key]).as_dict(private=False))

    async def authorize(self, request: Request) -> Response:
        query = request.query_params
        assert query["client_id"] == CLIENT_ID and query["response_type"] == "code"
        assert query["code_challenge_method"] == "S256"
        back = query["redirect_uri"]
        if self.decision != "approve":
            return RedirectResponse(
                f"{back}?{urlencode({'error': 'access_denied', 'state': query['state']})}", 302
            )
        code = secrets.token_urlsafe(16)
        self.codes[code] = {
            "nonce": query["nonce"],
            "challenge": query["code_challenge"],
            "redirect_uri": back,
            "scope": query.get("scope", ""),
        }
        return RedirectResponse(f"{back}?{urlencode({'code': code, 'state': query['state']})}", 302)

    @staticmethod
    async def _form(request: Request) -> dict[str, str]:
        """The urlencoded body (no multipart library needed)."""
        parsed = parse_qs((await request.body()).decode(), keep_blank_values=True)
        return {key: values[0] for key, values in parsed.items()}

    def _client_ok(self, request: Request) -> bool:
        expected = base64.b64encode(f"{CLIENT_ID}:{CLIENT_SECRET}".encode()).decode()
        return request.headers.get("authorization") == f"Basic {expected}"

    async def token(self, request: Request) -> Response:
        form = await self._form(request)
        if not self._client_ok(request):
            return JSONResponse({"error": "invalid_client"}, 401)
        grant = self.codes.pop(str(form.get("code")), None)
        if grant is None or form.get("redirect_uri") != grant["redirect_uri"]:
            return JSONResponse({"error": "invalid_grant"}, 400)
        verifier = str(form.get("code_verifier"))
        challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest())
        if challenge.rstrip(b"=").decode() != grant["challenge"]:
            return JSONResponse({"error": "invalid_grant", "error_description": "pkce"}, 400)
        access, refresh = f"at-{secrets.token_urlsafe(12)}", f"rt-{secrets.token_urlsafe(12)}"
        self.issued.append({"access_token": access, "refresh_token": refresh})
        return JSONResponse(
            {
                "access_token": access,
                "refresh_token": refresh,
                "token_type": "Bearer",
                "expires_in": 3600,
                "scope": grant["scope"],
                "id_token": self._id_token(grant["nonce"]),
            }
        )

    def _id_token(self, nonce: str) -> str:
        now = int(self.clock.now().timestamp())
        claims: dict[str, Any] = {
            "iss": self.issuer,
            "sub": self.subject,
            "aud": CLIENT_ID,
            "iat": now,
            "exp": now + 300,
            "nonce": nonce,
        }
        header: dict[str, Any] = {"alg": "RS256", "kid": "k1"}
        tamper, self.tamper = self.tamper, None
        if tamper == "nonce":
            claims["nonce"] = "someone-elses-nonce"
        elif tamper == "audience":
            claims["aud"] = "another-client"
        elif tamper == "issuer":
            claims["iss"] = "https://evil.example"
        elif tamper == "expired":
            claims["exp"] = now - 3600
        elif tamper == "signature":
            other = RSAKey.generate_key(2048, parameters={"kid": "k1"})
            return jwt.encode(header, claims, other)
        elif tamper == "hmac":
            return jwt.encode(
                {"alg": "HS256", "kid": "k1"},
                claims,
                OctKey.import_key(CLIENT_SECRET),
                algorithms=["HS256"],
            )
        return jwt.encode(header, claims, self.key)

    async def revoke(self, request: Request) -> Response:
        form = await self._form(request)
        if not self._client_ok(request):
            return JSONResponse({"error": "invalid_client"}, 401)
        self.revoked.append((str(form.get("token_type_hint")), str(form.get("token"))))
        return Response(status_code=200)

    # -- serving -----------------------------------------------------------------------------

    def app(self) -> Starlette:
        return Starlette(
            routes=[
                Route("/.well-known/openid-configuration", self.discovery),
                Route("/jwks", self.jwks),
                Route("/authorize", self.authorize),
                Route("/token", self.token, methods=["POST"]),
                Route("/revoke", self.revoke, methods=["POST"]),
            ]
        )

    def start(self) -> Provider:
        config = uvicorn.Config(
            self.app(), host="127.0.0.1", port=self.port, log_config=None, access_log=False
        )
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, daemon=True)
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started:
            if time.monotonic() > deadline:
                raise RuntimeError("the test provider did not start")
            time.sleep(0.01)
        return self

    def stop(self) -> None:
        if self._server is not None and self._thread is not None:
            self._server.should_exit = True
            self._thread.join(10)
            self._server = None
