"""Envelope encryption: per-subject data keys wrapped by a key-encryption key from a keyring.

Public surface (decision 0006)::

    from doorstep.keys.services import KeyService           # encrypt, decrypt, destroy, rotate
    from doorstep.keys.keyring import FileKeyring, MemoryKeyring, Keyring, load_keyring
    from doorstep.keys.exceptions import KeyDestroyedError, DecryptionError, KeyringError

Modules: :mod:`.services` (the service), :mod:`.keyring` and :mod:`.interfaces`
(the keyring seam and its file and memory implementations), :mod:`.ciphertext`
(the field format), :mod:`.models` (``subject_keys``), :mod:`.checks` (what
``secret=True`` requires of a column), :mod:`.cli` (``doorstep keys``).
Private: ``_local`` and ``_file`` (keyrings), ``_cache`` (DEK cache),
``_rotation`` (batched re-wrapping).

Imports stay out of this file so that loading the models (``doorstep.schema``)
does not pull in the cryptography of the service.
"""
