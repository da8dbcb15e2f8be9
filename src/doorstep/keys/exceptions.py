"""Errors of the key area.

None of them ever carries key material, plaintext or ciphertext bytes: only ids
(subject, KEK), the encryption context (``table.column``) and the reason.

Hierarchy::

    DoorstepError
    ├── KeyDestroyedError            410: the subject's data key was crypto-shredded
    ├── DecryptionError              500: a ciphertext or wrapped key does not authenticate
    ├── ConfigurationError
    │   └── KeyringError             the keyring is missing, corrupt or lacks a KEK
    │       └── KeyringPermissionError   the keyring file is readable by others
    └── NotFoundError
        └── SubjectKeyNotFoundError  the subject has (and had) no data key
"""

from __future__ import annotations

from doorstep.core.errors import ConfigurationError, DoorstepError, NotFoundError


class KeyDestroyedError(DoorstepError):
    """The subject's data key was destroyed; its encrypted fields are gone for good.

    Raised by every later ``encrypt`` or ``decrypt`` for that subject, including
    for ciphertexts and wrapped keys that come back from a restored backup.
    """

    code = "key-destroyed"
    status = 410
    title = "Data key destroyed"


class DecryptionError(DoorstepError):
    """A ciphertext or wrapped key is malformed, tampered with, or bound elsewhere.

    "Bound elsewhere" means it was made for another subject, another context
    (``table.column``) or another KEK.  The detail says which check failed,
    never anything about the content.
    """

    code = "decryption-failed"
    status = 500
    title = "Decryption failed"


class KeyringError(ConfigurationError):
    """The keyring cannot be used: missing, unreadable, corrupt, or a KEK is absent."""

    code = "keyring-error"
    title = "Keyring unusable"


class KeyringPermissionError(KeyringError):
    """The keyring file is readable or writable by someone other than its owner."""

    code = "keyring-permissions"
    title = "Keyring file permissions too open"


class SubjectKeyNotFoundError(NotFoundError):
    """The subject has no data key, and no record says one was destroyed."""

    code = "subject-key-not-found"
    title = "No data key for this subject"
