"""Read a /metrics scrape in tests: {(sample name, frozenset of labels): value}."""

from __future__ import annotations

from prometheus_client.parser import text_string_to_metric_families


def parse(text: str) -> dict[tuple[str, frozenset], float]:
    return {
        (s.name, frozenset(s.labels.items())): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def value(samples: dict, name: str, **labels: str) -> float:
    """A sample's value; 0 when the series does not exist yet (a counter not yet touched)."""
    return samples.get((name, frozenset(labels.items())), 0.0)
