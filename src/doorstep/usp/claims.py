"""Claim secrets and the QR payload that carries them: the format printed on a device's label.

Pure functions, no I/O, shared by the device registry (:mod:`doorstep.devices.binding`)
and the agent simulator (:mod:`doorstep.usp.agent_sim`), so it sits below both.

A claim secret is what proves "I hold this device" when binding it (CPE-I.ii.2).
It is random and provisioned with the device, so it cannot be derived from anything
the device reveals about itself (serial number, MAC, endpoint id): 20 characters of
the RFC 4648 base32 alphabet (100 bits), generated at manufacture, printed on the
label and stored by Doorstep only as a SHA-256 digest (with 100 bits of entropy a
plain digest cannot be reversed by guessing, so no salt or key is needed).

The label carries it twice:

* a QR code whose text is ``DOORSTEP1:<endpoint id>:<claim secret>`` (version 1 of
  the format; the endpoint id may contain ``:``, the secret is after the last one);
* the claim code for typing by hand, the same secret in groups of five
  (``ABCDE-FGHIJ-KLMNO-PQRST``).  Typing is forgiving: case, spaces and dashes are
  ignored, and ``0``/``1``/``8`` are read as ``O``/``I``/``B`` (base32 has none of them).

Nothing here logs or puts a secret in an error message.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass, field

from doorstep.core.errors import InvalidInputError
from doorstep.usp.endpoint import is_valid_endpoint_id

PAYLOAD_PREFIX = "DOORSTEP1:"
"""The first characters of a QR payload of format version 1."""
ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
CLAIM_LENGTH = 20
"""Characters of a claim secret: 20 x 5 bits = 100 bits."""
_GROUP = 5
_LOOKALIKES = str.maketrans({"0": "O", "1": "I", "8": "B"})
_IGNORED = str.maketrans("", "", " -_\t")


@dataclass(frozen=True, slots=True)
class ClaimPayload:
    """A scanned QR payload: which device, and the secret that proves holding it."""

    endpoint_id: str
    claim_code: str = field(repr=False)


def new_claim_code() -> str:
    """A fresh random claim secret (canonical form: 20 upper-case base32 characters)."""
    return "".join(secrets.choice(ALPHABET) for _ in range(CLAIM_LENGTH))


def normalise_claim_code(text: str) -> str:
    """The canonical form of a typed claim code; InvalidInputError names the rule broken."""
    code = text.translate(_IGNORED).upper().translate(_LOOKALIKES)
    if len(code) != CLAIM_LENGTH or any(ch not in ALPHABET for ch in code):
        raise InvalidInputError(
            "not a device claim code",
            errors=[{"field": "claim_code", "rule": f"{CLAIM_LENGTH} base32 characters"}],
        )
    return code


def display_claim_code(code: str) -> str:
    """``ABCDE-FGHIJ-KLMNO-PQRST``: the form printed on the label."""
    canonical = normalise_claim_code(code)
    return "-".join(canonical[i : i + _GROUP] for i in range(0, CLAIM_LENGTH, _GROUP))


def claim_digest(code: str) -> bytes:
    """SHA-256 of the canonical claim code: what ``devices.claim_hash`` stores."""
    return hashlib.sha256(normalise_claim_code(code).encode("ascii")).digest()


def encode_payload(endpoint_id: str, claim_code: str) -> str:
    """The QR text ``DOORSTEP1:<endpoint id>:<claim secret>``."""
    if not is_valid_endpoint_id(endpoint_id):
        raise InvalidInputError(
            "invalid endpoint id", errors=[{"field": "endpoint_id", "rule": "USP Endpoint ID"}]
        )
    return f"{PAYLOAD_PREFIX}{endpoint_id}:{normalise_claim_code(claim_code)}"


def parse_payload(text: str) -> ClaimPayload:
    """Read a scanned QR payload; InvalidInputError names the rule, never the text."""
    bad = InvalidInputError(
        "not a Doorstep device QR code",
        errors=[{"field": "qr_payload", "rule": "DOORSTEP1:<endpoint id>:<claim code>"}],
    )
    text = text.strip()
    if not text.upper().startswith(PAYLOAD_PREFIX) or len(text) > 256:
        raise bad
    endpoint_id, sep, code = text[len(PAYLOAD_PREFIX) :].rpartition(":")
    if not sep or not is_valid_endpoint_id(endpoint_id):
        raise bad
    try:
        canonical = normalise_claim_code(code)
    except InvalidInputError:
        raise bad from None
    return ClaimPayload(endpoint_id, canonical)
