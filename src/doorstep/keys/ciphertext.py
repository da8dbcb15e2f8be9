"""The byte format of an encrypted field, and what binds it to its place.

Version 1 (all integers big-endian)::

    offset  size  field
    0       1     format version (0x01)
    1       4     key version: which of the subject's data keys sealed it
    5       12    nonce (random, AES-GCM)
    17      n+16  AES-256-GCM ciphertext of the n plaintext bytes, then the tag

The associated data (authenticated, never stored) is::

    b"doorstep/field\\0" || header (5 bytes) || u16 len(context) || context || subject id (16)

so a ciphertext only opens for the same subject, the same ``context``
(``table.column``) and the same header: copied to another row, column or
subject, or with any byte changed, it fails authentication.  The key version
is scoped to the subject (the subject id is implicit), so the stored bytes carry
no identifier that links rows across tables.  Overhead: 33 bytes per field.
"""

from __future__ import annotations

import functools
import os
import re
import struct
import uuid
from dataclasses import dataclass

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from doorstep.core.errors import InvalidInputError
from doorstep.keys.exceptions import DecryptionError

FORMAT_V1 = 1
NONCE_SIZE = 12
TAG_SIZE = 16
_HEADER = struct.Struct(">BI")
HEADER_SIZE = _HEADER.size
OVERHEAD = HEADER_SIZE + NONCE_SIZE + TAG_SIZE
_AAD_PREFIX = b"doorstep/field\x00"
_CONTEXT = re.compile(r"^[a-z][a-z0-9_]*(?:\.[a-z][a-z0-9_]*)+$")
MAX_CONTEXT = 200


@dataclass(frozen=True, slots=True)
class Header:
    """The readable part of a ciphertext."""

    version: int
    key_version: int


@functools.lru_cache(maxsize=1024)
def check_context(context: str) -> bytes:
    """Return ``context`` as bytes, or raise InvalidInputError when it is not ``table.column``.

    Dotted lower-case names only (``devices.pppoe_password``, ``accounts.tokens.github``),
    so a context can never smuggle a value into errors or logs.  Memoised: contexts
    are a handful of column names, checked on every call.
    """
    if not isinstance(context, str) or len(context) > MAX_CONTEXT or not _CONTEXT.match(context):
        raise InvalidInputError(
            "an encryption context is a dotted name such as 'devices.pppoe_password'",
            errors=[{"field": "context", "rule": "table.column"}],
        )
    return context.encode("ascii")


def associated_data(header: bytes, subject_id: uuid.UUID, context: bytes) -> bytes:
    """The bytes a ciphertext is bound to (see the module docstring)."""
    return b"".join(
        (_AAD_PREFIX, header, struct.pack(">H", len(context)), context, subject_id.bytes)
    )


def seal(
    aead: AESGCM, key_version: int, subject_id: uuid.UUID, context: str, plaintext: bytes
) -> bytes:
    """Encrypt ``plaintext`` for ``subject_id`` and ``context`` under one data key."""
    header = _HEADER.pack(FORMAT_V1, key_version)
    nonce = os.urandom(NONCE_SIZE)
    aad = associated_data(header, subject_id, check_context(context))
    return header + nonce + aead.encrypt(nonce, plaintext, aad)


def read_header(ciphertext: bytes) -> Header:
    """Parse the header; raise DecryptionError for anything that is not a v1 ciphertext."""
    if not isinstance(ciphertext, bytes | bytearray | memoryview):
        raise DecryptionError("a ciphertext must be bytes")
    if len(ciphertext) < OVERHEAD:
        raise DecryptionError("the ciphertext is too short to be a Doorstep ciphertext")
    version, key_version = _HEADER.unpack_from(ciphertext)
    if version != FORMAT_V1:
        raise DecryptionError(f"unsupported ciphertext format version {version}")
    return Header(version, key_version)


def open_sealed(aead: AESGCM, subject_id: uuid.UUID, context: str, ciphertext: bytes) -> bytes:
    """Decrypt a ciphertext made by :func:`seal` with the same key, subject and context."""
    data = bytes(ciphertext)
    read_header(data)
    aad = associated_data(data[:HEADER_SIZE], subject_id, check_context(context))
    nonce = data[HEADER_SIZE : HEADER_SIZE + NONCE_SIZE]
    try:
        return aead.decrypt(nonce, data[HEADER_SIZE + NONCE_SIZE :], aad)
    except InvalidTag:
        raise DecryptionError(
            "the ciphertext does not authenticate for this subject and context "
            "(tampered with, or copied from another row, column or subject)",
            context=context,
        ) from None
