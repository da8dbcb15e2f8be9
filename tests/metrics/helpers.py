"""What the metrics tests share: reading an exposition back and a runtime with other settings."""

from __future__ import annotations

import dataclasses
from typing import Any

from prometheus_client.parser import text_string_to_metric_families

from doorstep.core.runtime import Runtime


def samples(text: str) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    """Every sample of a Prometheus text exposition, by (name, labels); parsed strictly."""
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def value(text: str, name: str, **labels: str) -> float | None:
    """The value of one sample, or None when the exposition has no such sample."""
    return samples(text).get((name, frozenset(labels.items())))


def with_settings(runtime: Runtime, **changes: Any) -> Runtime:
    """``runtime`` with some settings changed (same database, sessions and clock)."""
    return dataclasses.replace(runtime, settings=runtime.settings.model_copy(update=changes))
