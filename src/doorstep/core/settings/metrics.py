"""Settings of the Prometheus metrics (decision 0043, docs/metrics.md)."""

from __future__ import annotations

from ipaddress import IPv4Address

from pydantic import BaseModel, Field, SecretStr


class MetricsSettings(BaseModel):
    """Who may read ``/metrics``, where worker and controller serve it, what the gauges read."""

    metrics_enabled: bool = Field(
        default=True,
        description="Serve GET /metrics on `doorstep serve`; off: the path is a 404.",
    )
    metrics_token: SecretStr | None = Field(
        default=None,
        description="When set, /metrics (serve, and the --metrics-port servers of worker and "
        "controller) answers only requests with `Authorization: Bearer <token>`; others get 401.",
    )
    metrics_bind: IPv4Address = Field(
        default=IPv4Address("127.0.0.1"),
        description="IPv4 address the --metrics-port servers of `doorstep worker` and "
        "`doorstep controller` bind to (0.0.0.0: every interface; then set metrics_token).",
    )
    metrics_deadline_days: int = Field(
        default=3,
        ge=0,
        le=365,
        description="A data-subject request due within this many days counts as at risk "
        "(doorstep_requests_due_soon).",
    )
    metrics_cache_seconds: float = Field(
        default=5.0,
        ge=0,
        le=300,
        description="How long the gauges read from the database are reused between scrapes.",
    )
    metrics_query_timeout_ms: int = Field(
        default=2_000,
        ge=10,
        le=60_000,
        description="statement_timeout of the queries behind the database gauges; a scrape "
        "whose queries time out reports doorstep_metrics_database_up 0.",
    )
