"""The Ed25519 key that signs consent receipts, and its public JWK.

The private key is a PKCS#8 PEM file, created on first use with mode 0600 (by
default ``<data_dir>/receipt-signing-key.pem``), or handed in by the operator.
A key file that others may read is refused.  The public key is published as a
JWK (RFC 8037) whose ``kid`` is its RFC 7638 thumbprint, so a subject can
check a receipt without asking us.

Receipts are compact JWS made with ``joserfc``; their bytes are those PyJWT
made before (header ``{"alg":"EdDSA","kid":…,"typ":"JWT"}`` with sorted keys,
claims as ASCII JSON without spaces), so every receipt ever issued verifies.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import json
import os
import stat
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from joserfc import jws, jwt
from joserfc.errors import DecodeError, JoseError, UnsupportedAlgorithmError
from joserfc.jwa import JWSAlgModel
from joserfc.jwk import OKPKey

from doorstep.core.errors import ConfigurationError
from doorstep.core.settings import Settings

KEY_FILE = "receipt-signing-key.pem"
ALGORITHM = "EdDSA"


class _ReceiptRegistry(jws.JWSRegistry):
    """The JWS algorithms of receipts: ``EdDSA`` only, without joserfc's warning for it.

    RFC 9864 deprecates the name ``EdDSA`` for the fully specified ``Ed25519``
    (the same signature).  Every receipt issued says ``EdDSA`` and subjects
    check receipts with their own tools, so the name stays.
    """

    def get_alg(self, name: str) -> JWSAlgModel:
        """The EdDSA algorithm; :class:`UnsupportedAlgorithmError` for any other name."""
        if name != ALGORITHM:
            raise UnsupportedAlgorithmError(f"Algorithm of '{name}' is not allowed")
        return self.algorithms[name]


_REGISTRY = _ReceiptRegistry(algorithms=[ALGORITHM])


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def public_jwk(public_key: Ed25519PublicKey) -> dict[str, str]:
    """The public key as a JWK with its RFC 7638 thumbprint as ``kid``."""
    raw = public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    members = {"crv": "Ed25519", "kty": "OKP", "x": _b64url(raw)}
    thumbprint = hashlib.sha256(
        json.dumps(members, separators=(",", ":"), sort_keys=True).encode("ascii")
    ).digest()
    return {**members, "use": "sig", "alg": ALGORITHM, "kid": _b64url(thumbprint)}


def key_from_jwk(jwk: Mapping[str, Any]) -> Ed25519PublicKey:
    """The Ed25519 public key of a JWK; :class:`ValueError` for anything else."""
    if jwk.get("kty") != "OKP" or jwk.get("crv") != "Ed25519" or "d" in jwk:
        raise ValueError("not a public Ed25519 JWK")
    try:
        key = OKPKey.import_key(dict(jwk)).public_key
    except JoseError:
        raise ValueError("not a public Ed25519 JWK") from None
    if not isinstance(key, Ed25519PublicKey):
        raise ValueError("not a public Ed25519 JWK")
    return key


def _compact(token: str) -> bytes:
    try:
        return token.encode("ascii")
    except UnicodeEncodeError:
        raise DecodeError("a compact JWS is ASCII") from None


def unverified_header(token: str) -> dict[str, Any]:
    """The header of a compact JWS, signature unchecked (to pick a key by ``kid``).

    :class:`JoseError` when ``token`` is not a compact JWS or its header breaks
    RFC 7515 (a ``kid`` that is not a string, an unknown ``crit``, …).
    """
    header = jws.extract_compact(_compact(token)).headers()
    _REGISTRY.check_header(header)
    return header


def verified_claims(token: str, public_key: Ed25519PublicKey) -> dict[str, Any]:
    """The claims of a compact JWS that ``public_key`` verifies (EdDSA only).

    The registered time claims are checked when present (``exp``, ``nbf``,
    ``iat``, no leeway), as are the types of ``iss``, ``sub``, ``aud`` and ``jti``.
    :class:`JoseError` for another algorithm, a bad signature, a payload that is
    not a JSON object or a failed claim.
    """
    token_obj = jwt.decode(_compact(token), OKPKey.import_key(public_key), registry=_REGISTRY)
    jwt.JWTClaimsRegistry().validate(token_obj.claims)
    return token_obj.claims


class ReceiptSigner:
    """Signs receipts (compact JWS, EdDSA).  Holds the private key; never prints it."""

    def __init__(self, private_key: Ed25519PrivateKey) -> None:
        self._key = private_key
        self._jose_key = OKPKey.import_key(private_key)
        self.jwk = public_jwk(private_key.public_key())

    def __repr__(self) -> str:
        return f"ReceiptSigner(kid={self.kid!r})"

    @property
    def kid(self) -> str:
        """The key id (RFC 7638 thumbprint of the public key)."""
        return self.jwk["kid"]

    @property
    def public_key(self) -> Ed25519PublicKey:
        """The public half, for verification."""
        return self._key.public_key()

    def jwks(self) -> dict[str, list[dict[str, str]]]:
        """A JWK Set holding the public key, as published for subjects."""
        return {"keys": [dict(self.jwk)]}

    def sign(self, claims: Mapping[str, Any]) -> str:
        """A compact JWS of ``claims`` (header ``alg``, ``kid``, ``typ`` in this order)."""
        payload = json.dumps(dict(claims), separators=(",", ":")).encode("ascii")
        header = {"alg": ALGORITHM, "kid": self.kid, "typ": "JWT"}
        return jws.serialize_compact(header, payload, self._jose_key, registry=_REGISTRY)

    @classmethod
    def generate(cls) -> ReceiptSigner:
        """A signer with a new key held in memory only (tests, tools)."""
        return cls(Ed25519PrivateKey.generate())

    @classmethod
    def from_pem(cls, pem: bytes) -> ReceiptSigner:
        """A signer from an unencrypted PKCS#8 PEM Ed25519 key the operator provides."""
        try:
            key = serialization.load_pem_private_key(pem, password=None)
        except (ValueError, TypeError):
            raise ConfigurationError("the receipt signing key is not a readable PEM key") from None
        if not isinstance(key, Ed25519PrivateKey):
            raise ConfigurationError("the receipt signing key must be an Ed25519 key")
        return cls(key)

    @classmethod
    def load_or_create(cls, path: Path) -> ReceiptSigner:
        """Load the key at ``path``, creating it (0600) on first use; safe under races."""
        if not path.exists():
            _create(path)
        mode = path.stat().st_mode
        if mode & (stat.S_IRWXG | stat.S_IRWXO):
            raise ConfigurationError(
                f"receipt signing key {path} may be read by others; run chmod 600 on it"
            )
        return cls.from_pem(path.read_bytes())

    @classmethod
    def load(cls, path: Path) -> ReceiptSigner:
        """Load an existing key; :class:`ConfigurationError` when there is none."""
        if not path.exists():
            raise ConfigurationError(f"no receipt signing key at {path}")
        return cls.load_or_create(path)


def _create(path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    pem = Ed25519PrivateKey.generate().private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=".receipt-key-")
    try:
        with os.fdopen(handle, "wb") as out:  # mkstemp creates the file with mode 0600
            out.write(pem)
            out.flush()
            os.fsync(out.fileno())
        # link() never replaces: when another process won the race, its key stays.
        with contextlib.suppress(FileExistsError):
            os.link(temporary, path)
    finally:
        Path(temporary).unlink(missing_ok=True)


def receipt_key_path(settings: Settings) -> Path:
    """The receipt signing key: ``receipt_key_file`` or ``<data_dir>/receipt-signing-key.pem``."""
    return settings.receipt_key_file or settings.data_dir / KEY_FILE


def signer_for(settings: Settings) -> ReceiptSigner:
    """The process's signer: the key in the data directory, created on first use."""
    return ReceiptSigner.load_or_create(receipt_key_path(settings))
