"""Keyrings: where key-encryption keys and destruction tombstones live.

    from doorstep.keys.keyring import FileKeyring, MemoryKeyring, Keyring, load_keyring

:func:`load_keyring` gives the keyring a process should use: today always the
file keyring in ``<data_dir>/keyring.json`` (created on first run, mode 0600).
A KMS-backed keyring implements :class:`Keyring` and is chosen here once a
setting names it.
"""

from __future__ import annotations

from doorstep.core.clock import Clock
from doorstep.core.settings import Settings
from doorstep.keys._file import FileKeyring, check_private
from doorstep.keys._local import MemoryKeyring
from doorstep.keys.interfaces import KekInfo, Keyring, WrappedKey

#: The keyring file's name inside ``settings.data_dir``.
KEYRING_FILENAME = "keyring.json"

__all__ = [
    "KEYRING_FILENAME",
    "FileKeyring",
    "KekInfo",
    "Keyring",
    "MemoryKeyring",
    "WrappedKey",
    "check_private",
    "load_keyring",
]


def load_keyring(settings: Settings, *, clock: Clock | None = None) -> Keyring:
    """The keyring: ``keyring_path`` or ``<data_dir>/keyring.json``, made 0600 on first use.

    Raises :class:`~doorstep.keys.exceptions.KeyringPermissionError` when the
    file is readable by others, and :class:`~doorstep.keys.exceptions.KeyringError`
    when it is corrupt.  ``clock`` dates the first KEK.
    """
    path = settings.keyring_path or settings.data_dir / KEYRING_FILENAME
    return FileKeyring(path, clock=clock)
