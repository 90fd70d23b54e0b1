"""Reading a process's `/metrics` in tests: every sample of the exposition by name and labels."""

from __future__ import annotations

import httpx
from prometheus_client.parser import text_string_to_metric_families

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


def samples(text: str) -> Samples:
    """Every sample of a Prometheus exposition: (name, labels) → value."""
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def scrape(base_url: str) -> Samples:
    answer = httpx.get(f"{base_url}/metrics", timeout=10)
    answer.raise_for_status()
    assert answer.headers["content-type"].startswith("text/plain"), answer.headers
    return samples(answer.text)


def value(found: Samples, name: str, **labels: str) -> float:
    """The sample `name` with exactly `labels`, 0 when absent (a counter not yet incremented)."""
    return found.get((name, frozenset(labels.items())), 0.0)
