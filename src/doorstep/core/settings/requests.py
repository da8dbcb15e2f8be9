"""Settings of data-subject requests and the privacy desk (decision 0014)."""

from __future__ import annotations

from pydantic import BaseModel, Field


class RequestSettings(BaseModel):
    """Deadlines, extensions, reminders, repeats, automatic kinds and exports."""

    requests_jurisdiction: str = Field(
        default="default",
        description="Deadline rule of requests that name none (a key of requests_periods).",
    )
    requests_periods: dict[str, str] = Field(
        default_factory=lambda: {"default": "P30D", "gdpr": "P1M"},
        description="Answer period per jurisdiction, ISO 8601 days or calendar months (X-9).",
    )
    requests_extensions: dict[str, str] = Field(
        default_factory=lambda: {"gdpr": "P2M"},
        description="Longest extension per jurisdiction (absent: none may be granted).",
    )
    requests_promised_days: int | None = Field(
        default=30,
        ge=1,
        description="The policy's own answer time (CPE-V.6.b: 30 days) caps every jurisdiction's "
        "first period: a request is due at the earlier of the two (decision 0014 addendum). "
        "None: the jurisdiction's period alone.",
    )
    inquiries_reply_days: int = Field(
        default=30,
        ge=1,
        description="Days within which a general privacy question is answered (CPE-IX.2, "
        "CORP-9.1: 30); the desk is reminded requests_reminder_days before.",
    )
    requests_reminder_days: int = Field(
        default=7, ge=0, description="Days before the deadline the privacy desk is reminded."
    )
    requests_repeat_threshold: int = Field(
        default=2, ge=1, description="Same-type requests per window that are free (CPE-V.6.c)."
    )
    requests_repeat_window_days: int = Field(
        default=365, ge=1, description="Window in which repeated requests are counted."
    )
    staff_session_hours: int = Field(
        default=8, ge=1, le=24, description="Hours a staff console session lasts."
    )
    requests_automatic: tuple[str, ...] = Field(
        default=("access", "portability"),
        description="Request kinds carried out as soon as identity is proven, without review "
        "(the others wait for the privacy desk's approval).",
    )
    requests_systems: tuple[str, ...] = Field(
        default=(),
        description="Connected systems of the pack's systems.yaml that requests reach "
        '(issue 18, docs/connectors.md): their keys, or ["*"] for every declared system. '
        "Empty: none (the reference pack's systems are examples at loopback addresses).",
    )
    requests_systems_attempts: int = Field(
        default=5,
        ge=1,
        le=10,
        description="Attempts at a connected system (timeouts, garbage, errors), retried with "
        "exponential back-off, before its part is marked failed with the reason.",
    )
    requests_systems_batch: int = Field(
        default=20,
        ge=1,
        le=200,
        description="Most tasks of one connected system one attempt carries out together: the "
        "task its job names and fresh ones of other requests (decision 0048); an SQL system "
        "does them in one transaction with a savepoint each.  1: one task per attempt.",
    )
    requests_erase_batch: int = Field(
        default=20,
        ge=1,
        le=200,
        description="Most deletion requests one erase job carries out together: its own and "
        "other waiting erase jobs' it claims, in one transaction with one erasure statement "
        "(decision 0051).  A retried job runs alone.  1: one request per job.",
    )
    requests_systems_poll_seconds: int = Field(
        default=60,
        ge=1,
        description="Seconds between polls of an HTTP system that accepted a request and "
        "answers later (when it sends no signed callback first).",
    )
    requests_systems_answer_hours: int = Field(
        default=72,
        ge=1,
        description="Hours an HTTP system may take to answer a request it accepted; then "
        "its part fails with reason timeout (the desk may re-run it).",
    )
    requests_export_days: int = Field(
        default=7,
        ge=1,
        description="Days a prepared export can be downloaded (at most the pack's "
        "export_download rule).",
    )
    requests_inline_ms: int = Field(
        default=250,
        ge=0,
        le=10_000,
        description="Milliseconds each statement may take when an automatic export or "
        "erasure is carried out before the filing request is answered (decision 0046); past "
        "it, or on any error, a worker does it.  0: always a worker.",
    )
