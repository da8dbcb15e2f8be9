"""Envelope encryption: field encrypt/decrypt rates and data-key creation rate.

* encrypt/s and decrypt/s of a 32-byte field with the subject's DEK cached,
  against raw AES-256-GCM on the same bytes (the service's overhead is the ratio);
* decrypt/s with the cache off (one SELECT and one unwrap per field), to show
  what the cache buys;
* data keys created/s: generate a DEK, wrap it under the file keyring's KEK,
  INSERT the row (one transaction per 100 subjects, like a batch sign-up).
"""

from __future__ import annotations

import os
import tempfile
import uuid
from pathlib import Path

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from bench.harness import BenchContext, Figure, per_second, timed
from doorstep.core.clock import SystemClock
from doorstep.core.database import transaction
from doorstep.keys.keyring import FileKeyring
from doorstep.keys.services import KeyService
from doorstep.privacy.subjects.models import Subject, SubjectKind

FIELD = os.urandom(32)
CONTEXT = "devices.pppoe_password"


def _subjects(ctx: BenchContext, count: int) -> list[uuid.UUID]:
    with transaction(ctx.runtime.sessions) as session:
        subjects = [Subject(kind=SubjectKind.SUBSCRIBER) for _ in range(count)]
        session.add_all(subjects)
        session.flush()
        return [subject.id for subject in subjects]


def run(ctx: BenchContext) -> list[Figure]:
    """Measure the figures above on a fresh database and a file keyring in a temp dir."""
    calls = 2_000 if ctx.quick else 50_000
    created = 300 if ctx.quick else 3_000
    clock = SystemClock()
    with tempfile.TemporaryDirectory() as data_dir:
        keyring = FileKeyring(Path(data_dir) / "keyring.json", clock=clock)
        keys = KeyService(keyring, clock)
        (subject,) = _subjects(ctx, 1)
        with transaction(ctx.runtime.sessions) as session:
            keys.ensure_key(session, subject)
        raw = AESGCM(AESGCM.generate_key(bit_length=256))
        nonce = os.urandom(12)
        raw_encrypt = per_second(lambda: raw.encrypt(nonce, FIELD, b"aad"), calls)
        sealed_raw = raw.encrypt(nonce, FIELD, b"aad")
        raw_decrypt = per_second(lambda: raw.decrypt(nonce, sealed_raw, b"aad"), calls)
        with ctx.runtime.sessions() as session:
            encrypt = per_second(
                lambda: keys.encrypt(session, subject, FIELD, context=CONTEXT), calls
            )
            sealed = keys.encrypt(session, subject, FIELD, context=CONTEXT)
            decrypt = per_second(
                lambda: keys.decrypt(session, subject, sealed, context=CONTEXT), calls
            )
            uncached = KeyService(keyring, clock, cache_size=0)
            decrypt_uncached = per_second(
                lambda: uncached.decrypt(session, subject, sealed, context=CONTEXT), calls // 20
            )
        fresh = _subjects(ctx, created)

        def create_keys() -> None:
            for start in range(0, created, 100):
                with transaction(ctx.runtime.sessions) as session:
                    for subject_id in fresh[start : start + 100]:
                        keys.ensure_key(session, subject_id)

        creation = created / timed(create_keys)
    return [
        Figure(
            "encrypt 32-byte field, DEK cached",
            encrypt,
            "ops/s",
            baseline=raw_encrypt,
            baseline_name="raw AES-GCM",
        ),
        Figure(
            "decrypt 32-byte field, DEK cached",
            decrypt,
            "ops/s",
            baseline=raw_decrypt,
            baseline_name="raw AES-GCM",
        ),
        Figure(
            "decrypt 32-byte field, cache off",
            decrypt_uncached,
            "ops/s",
            baseline=decrypt,
            baseline_name="DEK cached",
            note="one SELECT + one unwrap per call",
        ),
        Figure(
            "data keys created",
            creation,
            "keys/s",
            note="DEK + wrap (file keyring) + INSERT, 100 per transaction",
        ),
    ]
