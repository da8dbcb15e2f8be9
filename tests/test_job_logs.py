"""Routine job-queue lines (Procrastinate's per-job INFO records) show only at DEBUG."""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator

import pytest

from doorstep.core.logging import configure_logging
from doorstep.core.settings import load_settings
from tests.cli_run import logging_kept


@pytest.fixture
def kept() -> Iterator[None]:
    """Put the logging set-up back after the test."""
    with logging_kept():
        yield


def _logged(level: str) -> str:
    stream = io.StringIO()
    configure_logging(load_settings(log_level=level), stream)
    worker = logging.getLogger("procrastinate.worker")
    worker.info("Job doorstep.notify.purge[7](timestamp=1) ended with status: Success")
    worker.warning("Job doorstep.notify.deliver[8] failed")
    logging.getLogger("doorstep.worker").info("worker doorstep-worker started")
    return stream.getvalue()


@pytest.mark.usefixtures("kept")
def test_job_records_are_debug_lines() -> None:
    quiet = _logged("INFO")
    assert "ended with status" not in quiet, "a routine job line buries the demo's banner"
    assert "failed" in quiet and "worker doorstep-worker started" in quiet
    assert "ended with status" in _logged("DEBUG")
