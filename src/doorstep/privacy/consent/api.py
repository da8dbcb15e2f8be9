"""The public half of the receipt signing key, at a well-known path.

``GET /.well-known/jwks.json`` serves the JWK Set (RFC 7517) holding the Ed25519
key that signs consent receipts (:mod:`.signing`), so a subject or anyone they
show a receipt to can check it without asking us.  It needs no sign-in and says
nothing about anyone.

Only settings are needed, read from the app's runtime (``app.state.runtime``, as
``/readyz`` does): the routes of the app's consents themselves need the signed-in
subscriber and sit above this package (decision 0032).
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from doorstep.core.runtime import Runtime
from doorstep.privacy.consent.signing import signer_for

router = APIRouter(tags=["consents"])


class JwkSetResponse(JSONResponse):
    """A JWK Set document (RFC 7517 section 8.5.1)."""

    media_type = "application/jwk-set+json"


@router.get(
    "/.well-known/jwks.json",
    summary="The public key that signs consent receipts (JWK Set)",
    response_model=dict[str, list[dict[str, str]]],
    response_class=JwkSetResponse,
)
def receipt_keys(request: Request) -> Any:
    """The JWK Set of the receipt signing key (``kty`` OKP, ``crv`` Ed25519, ``kid``)."""
    runtime: Runtime = request.app.state.runtime
    keys = signer_for(runtime.settings).jwks()
    return JwkSetResponse(keys, headers={"Cache-Control": "public, max-age=3600"})
