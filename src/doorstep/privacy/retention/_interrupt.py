"""Ctrl-C for a long sweep: stop between batches, never in the middle of a database call.

A ``KeyboardInterrupt`` raised inside a database call (say the audit trail's
COPY at commit) can leave the connection unable even to roll back, and the
operator then sees a driver error instead of "interrupted".  So the first
Ctrl-C only asks the sweep to stop before its next batch; the second ends the
process at once, which the database treats like a lost connection: the batch
in flight rolls back, and the next run carries on (the same as a killed worker).
"""

from __future__ import annotations

import os
import signal
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from types import FrameType

#: Exit status of a process stopped by Ctrl-C (128 + SIGINT).
INTERRUPTED = 130


@contextmanager
def stop_on_interrupt() -> Iterator[Callable[[], bool]]:
    """Within the block, Ctrl-C sets a flag (returned as a callable) instead of raising.

    Must run in the main thread (the only one that receives signals).
    """
    requested = threading.Event()

    def handle(signum: int, frame: FrameType | None) -> None:
        if requested.is_set():
            sys.stderr.write("\nstopped at once; the batch in flight rolls back\n")
            sys.stderr.flush()
            os._exit(INTERRUPTED)
        requested.set()
        sys.stderr.write("\nstopping after the batch in flight (Ctrl-C again: at once)\n")
        sys.stderr.flush()

    previous = signal.signal(signal.SIGINT, handle)
    try:
        yield requested.is_set
    finally:
        signal.signal(signal.SIGINT, previous)
