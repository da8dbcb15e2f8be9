"""Settings of the connected systems (issue 18, decision 0034)."""

from __future__ import annotations

from pydantic import BaseModel, Field


class SystemSettings(BaseModel):
    """Where a declared connected system is reached in this installation."""

    system_urls: dict[str, str] = Field(
        default_factory=dict,
        description="JSON {system: url}: reach a system the pack's systems.yaml declares at "
        "this url instead of the declared one (a staging host, the demo's own servers). "
        "Only declared sql/http systems, with the same checks as the pack's url: no "
        "password, the kind's scheme; anything else stops start-up.",
    )
    completion_sources_batch: int = Field(
        default=200,
        ge=1,
        le=10_000,
        description="Closed records the periodic scan of a completion source (systems.yaml "
        "completions: source:) records per transaction; its watermark moves after each.",
    )
