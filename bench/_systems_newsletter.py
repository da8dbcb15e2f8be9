"""The newsletter service of ``bench_systems``, run in a process of its own.

A connected system is another program on another machine; served from a thread
of the benchmark's own process it would share the interpreter lock with the
Doorstep code being measured and charge its request handling to Doorstep.  So
:func:`newsletter_process` starts the demo's service
(:mod:`doorstep.demo_systems.newsletter`, over HTTP on loopback) in a child
process (``python -m bench._systems_newsletter``; the secret and the addresses
go through its standard input, never its arguments) and yields its url; the
child stops when its input closes.  The machine's cores are still shared, as the
shop's PostgreSQL is.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager

from bench.harness import ROOT


@contextmanager
def newsletter_process(secret: str, emails: list[str]) -> Iterator[str]:
    """The service with ``emails`` subscribed, serving in a child process; its url."""
    child = subprocess.Popen(
        [sys.executable, "-m", "bench._systems_newsletter"],
        cwd=ROOT,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert child.stdin is not None and child.stdout is not None
    try:
        child.stdin.write(json.dumps({"secret": secret, "emails": emails}) + "\n")
        child.stdin.flush()
        url = child.stdout.readline().strip()
        if not url.startswith("http://"):
            raise RuntimeError("bench: the newsletter service did not start")
        yield url
    finally:
        child.stdin.close()
        try:
            child.wait(10)
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait()


def _main() -> None:
    from doorstep.demo_systems.newsletter import Newsletter
    from doorstep.demo_systems.newsletter_http import NewsletterServer

    given = json.loads(sys.stdin.readline())
    service = Newsletter(given["secret"])
    for email in given["emails"]:
        service.subscribe(email)
    with NewsletterServer(service) as server:
        print(server.url, flush=True)
        sys.stdin.read()  # until the parent closes it


if __name__ == "__main__":
    _main()
