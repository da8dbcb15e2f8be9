"""Envelope encryption: per-subject data keys wrapped by a key-encryption key from a keyring."""
