"""The field format: versioned, self-describing, and bound to subject and context."""

from __future__ import annotations

import struct
import uuid

import pytest
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from hypothesis import given
from hypothesis import strategies as st

from doorstep.core.errors import InvalidInputError
from doorstep.keys import ciphertext
from doorstep.keys.exceptions import DecryptionError

AEAD = AESGCM(bytes(range(32)))
SUBJECT = uuid.UUID("00000000-0000-4000-8000-000000000001")
CONTEXT = "devices.pppoe_password"


def test_layout_is_version_key_version_nonce_then_sealed_bytes() -> None:
    sealed = ciphertext.seal(AEAD, 7, SUBJECT, CONTEXT, b"x" * 32)
    assert len(sealed) == 32 + ciphertext.OVERHEAD == 32 + 33
    assert sealed[0] == ciphertext.FORMAT_V1
    assert struct.unpack(">I", sealed[1:5]) == (7,)
    assert ciphertext.read_header(sealed) == ciphertext.Header(1, 7)
    assert ciphertext.open_sealed(AEAD, SUBJECT, CONTEXT, sealed) == b"x" * 32


def test_the_same_plaintext_never_gives_the_same_ciphertext() -> None:
    one = ciphertext.seal(AEAD, 1, SUBJECT, CONTEXT, b"same")
    two = ciphertext.seal(AEAD, 1, SUBJECT, CONTEXT, b"same")
    assert one != two


@pytest.mark.parametrize(
    ("subject", "context"),
    [
        (uuid.UUID("00000000-0000-4000-8000-000000000002"), CONTEXT),
        (SUBJECT, "devices.wifi_password"),
        (SUBJECT, "accounts.pppoe_password"),
    ],
)
def test_a_ciphertext_does_not_open_elsewhere(subject: uuid.UUID, context: str) -> None:
    sealed = ciphertext.seal(AEAD, 1, SUBJECT, CONTEXT, b"secret")
    with pytest.raises(DecryptionError, match="does not authenticate"):
        ciphertext.open_sealed(AEAD, subject, context, sealed)


def test_every_changed_byte_is_detected() -> None:
    sealed = ciphertext.seal(AEAD, 1, SUBJECT, CONTEXT, b"secret")
    for index in range(len(sealed)):
        tampered = bytearray(sealed)
        tampered[index] ^= 0x01
        with pytest.raises(DecryptionError):
            ciphertext.open_sealed(AEAD, SUBJECT, CONTEXT, bytes(tampered))


def test_truncated_and_unknown_versions_are_refused() -> None:
    sealed = ciphertext.seal(AEAD, 1, SUBJECT, CONTEXT, b"")
    with pytest.raises(DecryptionError, match="too short"):
        ciphertext.read_header(sealed[:-1])
    with pytest.raises(DecryptionError, match="format version 2"):
        ciphertext.read_header(b"\x02" + sealed[1:])


@pytest.mark.parametrize(
    "context", ["", "nodot", "Upper.x", "spaced.col umn", "a.b;drop", "x." * 150]
)
def test_a_context_is_a_dotted_name_and_is_not_echoed(context: str) -> None:
    with pytest.raises(InvalidInputError) as caught:
        ciphertext.check_context(context)
    if context:
        assert context not in caught.value.detail


@given(st.binary(max_size=200))
def test_arbitrary_bytes_only_ever_raise_decryption_error(data: bytes) -> None:
    with pytest.raises(DecryptionError):
        ciphertext.open_sealed(AEAD, SUBJECT, CONTEXT, data)
