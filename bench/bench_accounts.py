"""Password sign-in throughput with the deployment's argon2id parameters (2 cores).

* argon2id hashes/s alone (OWASP parameters: 19 MiB, t=2, p=1), with 1 and 2
  threads (argon2-cffi releases the GIL, so two threads use both cores);
* password sign-ins/s end to end through the service, one transaction each:
  rate-limit check, account look-up, argon2 verification, purpose gate and its
  audit record, session row, audit event, commit; with 1 and 2 threads, each
  against the hash-only rate of the same thread count (the ratio is the cost of
  everything that is not argon2);
* the p50 and p95 latency of one sign-in.
"""

from __future__ import annotations

import tempfile
import threading
import time
import uuid
from collections.abc import Callable
from pathlib import Path

from bench.harness import BenchContext, Figure, percentile
from doorstep.accounts.account.models import Account, AccountStatus
from doorstep.accounts.context import AccountContext
from doorstep.accounts.signin.flows import sign_in
from doorstep.accounts.signin.passwords import Passwords
from doorstep.core.clock import SystemClock
from doorstep.core.database import transaction
from doorstep.privacy.subjects.models import Subject, SubjectKind

PASSWORD = "violet-harbour-42-lantern"


def _accounts(ctx: BenchContext, passwords: Passwords, count: int) -> list[str]:
    stored = passwords.hash(PASSWORD)
    now = SystemClock().now()
    emails = [f"bench.{uuid.uuid4().hex[:12]}@example.org" for _ in range(count)]
    with transaction(ctx.runtime.sessions) as session:
        for email in emails:
            subject = Subject(kind=SubjectKind.SUBSCRIBER)
            session.add(subject)
            session.flush()
            session.add(
                Account(
                    id=subject.id,
                    status=AccountStatus.ACTIVE,
                    email=email,
                    password_hash=stored,
                    email_verified_at=now,
                    created_at=now,
                    source="app_signup",
                )
            )
    return emails


def _parallel(threads: int, calls: int, work: Callable[[int], None]) -> tuple[float, list[float]]:
    """Run ``work(i)`` ``calls`` times spread over ``threads``; return (calls/s, latencies)."""
    latencies: list[float] = []
    lock = threading.Lock()

    def worker(offset: int) -> None:
        for i in range(offset, calls, threads):
            started = time.perf_counter()
            work(i)
            elapsed = time.perf_counter() - started
            with lock:
                latencies.append(elapsed)

    pool = [threading.Thread(target=worker, args=(n,)) for n in range(threads)]
    started = time.perf_counter()
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join()
    return calls / (time.perf_counter() - started), latencies


def run(ctx: BenchContext) -> list[Figure]:
    """Measure the figures above on a fresh database (file keyring in a temp dir)."""
    calls = 20 if ctx.quick else 200
    with tempfile.TemporaryDirectory() as data_dir:
        runtime = ctx.runtime
        runtime.settings = runtime.settings.model_copy(update={"data_dir": Path(data_dir)})
        account_ctx = AccountContext.for_runtime(runtime)
        passwords = account_ctx.hasher
        settings = runtime.settings
        params = (
            f"m={settings.password_argon2_memory_kib // 1024} MiB, "
            f"t={settings.password_argon2_time_cost}, p={settings.password_argon2_parallelism}"
        )
        emails = _accounts(ctx, passwords, 16)
        hashes = {
            threads: _parallel(threads, calls, lambda _i: passwords.hash(PASSWORD))[0]
            for threads in (1, 2)
        }

        def one_sign_in(i: int) -> None:
            with transaction(runtime.sessions) as session:
                sign_in(session, account_ctx, emails[i % len(emails)], PASSWORD, address=None)

        signins = {threads: _parallel(threads, calls, one_sign_in) for threads in (1, 2)}
    latencies = signins[1][1]
    return [
        Figure(f"argon2id hash ({params}), 1 thread", hashes[1], "hashes/s"),
        Figure(f"argon2id hash ({params}), 2 threads", hashes[2], "hashes/s"),
        Figure(
            "password sign-in, 1 thread",
            signins[1][0],
            "sign-ins/s",
            baseline=hashes[1],
            baseline_name="hash only",
        ),
        Figure(
            "password sign-in, 2 threads",
            signins[2][0],
            "sign-ins/s",
            baseline=hashes[2],
            baseline_name="hash only",
        ),
        Figure("password sign-in latency p50", percentile(latencies, 50) * 1000, "ms"),
        Figure("password sign-in latency p95", percentile(latencies, 95) * 1000, "ms"),
    ]
